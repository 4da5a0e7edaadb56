"""The market's edge of quality scoring: declarations from requests, scores from stored tables.

The scoring core (market.quality.scoring) is pure; here its refusals become domain errors that
name the field at fault, and stored breakdowns are served under the dataset's own access rule.
"""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlmodel import Session

from market.catalog import visible_dataset
from market.errors import InvalidRequest, NotFound
from market.models import Participant
from market.quality.declaration import DatasetSchema, DeclarationMismatch
from market.quality.measures import AnonymizationFigures
from market.quality.report import QualityReport
from market.quality.scoring import score_table


class InvalidSchema(InvalidRequest):
    """A dataset's column dictionary cannot stand, or does not fit its file."""

    title = "Invalid dataset schema"


def parse_schema(raw: str | Mapping[str, Any]) -> DatasetSchema:
    """Validate a column dictionary (JSON text or a mapping); InvalidSchema names the fields."""
    try:
        if isinstance(raw, str):
            return DatasetSchema.model_validate_json(raw)
        return DatasetSchema.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(
            f"schema.{'.'.join(str(p) for p in err['loc'])}".rstrip(".") + f": {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise InvalidSchema(f"invalid schema: {fields}") from None


def assess(
    frame: pd.DataFrame,
    schema: DatasetSchema | None,
    *,
    now: datetime,
    public_report: Mapping[str, Any] | None = None,
) -> QualityReport:
    """Score a stored table; InvalidSchema when its declaration does not fit it."""
    figures = AnonymizationFigures.from_public_report(public_report) if public_report else None
    try:
        return score_table(frame, schema, now=now, anonymization=figures)
    except DeclarationMismatch as exc:
        raise InvalidSchema(f"invalid schema: schema.{exc.field}: {exc.reason}") from None


def quality_view(*, session: Session, viewer: Participant, dataset_id: str) -> dict[str, Any]:
    """A dataset's quality breakdown, for whoever may see the dataset itself."""
    dataset = visible_dataset(session=session, viewer=viewer, dataset_id=dataset_id)
    if dataset["quality"] is None:
        raise NotFound(
            f"dataset {dataset_id} was scored ({dataset['quality_score']}) before the market kept "
            "quality breakdowns; its components are not known"
        )
    return {"dataset_id": dataset_id, **dataset["quality"]}


def schema_json(schema: DatasetSchema | None) -> dict[str, Any] | None:
    """A declaration as stored on the dataset."""
    return None if schema is None else json.loads(schema.model_dump_json(exclude_none=True))
