"""Score a table against its declaration: the pure core of quality measurement (no I/O, no clock).

Data, a declaration and the figures measured elsewhere (the anonymizer's report, the seller's
record) go in; a QualityReport with every component comes out (docs/quality.md).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from market.quality import measures
from market.quality.declaration import DatasetSchema, check_against
from market.quality.measures import AnonymizationFigures, Credibility
from market.quality.profile import profile_column
from market.quality.report import WEIGHTS, Measure, QualityReport, weigh


def score_table(
    frame: pd.DataFrame,
    schema: DatasetSchema | None = None,
    *,
    now: datetime,
    anonymization: AnonymizationFigures | None = None,
    credibility: Credibility | None = None,
    weights: dict[str, int] = WEIGHTS,
) -> QualityReport:
    """Measure every component and weigh them into a 0-100 score.

    `frame` is read as text (as the market reads CSV) and holds no NUL characters (the CSV
    ingest refuses control characters; pandas groups text only up to a NUL); `now` dates
    currentness and must be UTC-aware. Raises DeclarationMismatch when the declaration names a column the table lacks
    or a rule compares values of different kinds.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    schema = schema or DatasetSchema()
    names = [str(name) for name in frame.columns]
    check_against(schema, names)
    profiles = {name: profile_column(frame.iloc[:, i]) for i, name in enumerate(names)}
    rows = len(frame)
    found = [
        measures.completeness(profiles, rows),
        measures.validity(profiles, schema),
        measures.uniqueness(profiles, rows, schema, anonymized=anonymization is not None),
        measures.consistency(profiles, rows, schema),
        measures.currentness(profiles, schema, now),
        measures.privacy(anonymization),
        measures.utility(anonymization),
        measures.credibility(credibility),
    ]
    return weigh(found, rows=rows, columns=len(names), measured_at=now, weights=weights)


def rescore(
    stored: Mapping[str, Any],
    *,
    credibility: Credibility | None,
    weights: dict[str, int] = WEIGHTS,
) -> QualityReport:
    """Weigh a stored breakdown again with the seller's current credibility (no data is read).

    The other components keep their stored scores (rounded to hundredths) and measurement time.
    """
    found = [
        Measure(c["name"], c["score"], c["formula"], c["explanation"], dict(c["details"]))
        for c in stored["components"]
        if c["name"] != "credibility"
    ]
    found.append(measures.credibility(credibility))
    return weigh(
        found,
        rows=int(stored["rows"]),
        columns=int(stored["columns"]),
        measured_at=datetime.fromisoformat(stored["measured_at"]),
        weights=weights,
    )
