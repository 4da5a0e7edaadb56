"""Anonymization jobs: a seller's personal dataset becomes an `anonymized` dataset (匿名加工情報).

The personal input stays encrypted and is never listed or delivered. A job runs the `anonymize`
pipeline in the background with its progress recorded; its output is verified by the pipeline
before it is stored. The public processing report is kept with the new dataset; the confidential
record of the processing method (加工方法等情報) is sealed in the encrypted store and never served.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlmodel import Session

import anonymize as an
from market.datasets import csv_frame, get_dataset, measure_quality
from market.errors import Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import AnonymizationJob, Dataset, Participant

ColumnKindName = Literal["identifying", "quasi_identifying", "sensitive", "insensitive", "linking"]


class ColumnRole(BaseModel):
    """How one column is treated: its kind and the category of personal information it holds."""

    kind: ColumnKindName
    category: str = "other"


class JobSpec(BaseModel):
    """What the seller confirmed: every column's role, the privacy model and the output listing."""

    title: str = Field(min_length=1, max_length=200)
    category: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=100)
    columns: dict[str, ColumnRole] = Field(min_length=1)
    k: int = Field(ge=2, le=10_000)
    l: int | None = Field(default=None, ge=2)  # noqa: E741  (l-diversity's own name)
    t: float | None = Field(default=None, gt=0, lt=1)
    suppression: float = Field(default=0.0, ge=0, le=0.5)
    algorithm: Literal["auto", "optimal", "mondrian"] = "auto"

    @model_validator(mode="after")
    def _needs_quasi_identifiers(self) -> "JobSpec":
        if not any(role.kind == "quasi_identifying" for role in self.columns.values()):
            raise ValueError("name at least one quasi_identifying column")
        if (self.l or self.t) and not any(r.kind == "sensitive" for r in self.columns.values()):
            raise ValueError("l-diversity and t-closeness need a sensitive column")
        return self


@dataclass(frozen=True)
class AnonymizedCsv:
    """What the pipeline produced, ready to store."""

    data: bytes
    columns: list[str]
    row_count: int
    k: int
    public_report: dict[str, Any]
    confidential_method: bytes


def parse_spec(raw: dict[str, Any]) -> JobSpec:
    """Validate a job specification; raise InvalidRequest naming the fields at fault."""
    try:
        return JobSpec.model_validate(raw)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidRequest(f"invalid anonymization job: {fields}") from None


def create_job(
    *, session: Session, seller: Participant, dataset_id: str, spec: JobSpec
) -> AnonymizationJob:
    """Queue an anonymization job over one of the seller's personal datasets."""
    dataset = get_dataset(session=session, dataset_id=dataset_id)
    if dataset.seller_id != seller.id:
        raise Forbidden(f"dataset {dataset_id} belongs to another seller")
    if dataset.data_class != "personal":
        raise InvalidRequest(
            f"dataset {dataset_id} is {dataset.data_class}; anonymization jobs take personal data"
        )
    missing = [c for c in dataset.columns if c not in spec.columns]
    unknown = [c for c in spec.columns if c not in dataset.columns]
    if missing or unknown:
        raise InvalidRequest(
            "the column roles must name every column of the dataset and nothing else"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not in the dataset: {', '.join(unknown)}" if unknown else "")
        )
    job = AnonymizationJob(
        seller_id=seller.id, source_dataset_id=dataset.id, spec=spec.model_dump(mode="json")
    )
    session.add(job)
    session.flush()
    record_event(session, "AnonymizationJobQueued", {"job_id": job.id, "dataset_id": dataset.id})
    return job


def get_job(*, session: Session, participant: Participant, job_id: str) -> AnonymizationJob:
    job = session.get(AnonymizationJob, job_id)
    if job is None or (job.seller_id != participant.id and participant.kind != "operator"):
        raise NotFound(f"you have no anonymization job {job_id}")
    return job


def run_pipeline(
    raw_csv: bytes, spec: JobSpec, progress: Callable[[str, float], None]
) -> AnonymizedCsv:
    """Run the anonymize pipeline over a stored UTF-8 CSV; raise InvalidRequest if it refuses."""
    data = csv_frame(raw_csv)
    definition = an.Definition(
        {
            name: an.ColumnSpec(an.ColumnKind(role.kind), _info_category(role.category))
            for name, role in spec.columns.items()
        }
    )
    sensitive = [name for name, role in spec.columns.items() if role.kind == "sensitive"]
    criteria: list[an.Criterion] = [an.KAnonymity(spec.k)]
    if spec.l is not None:
        criteria += [an.DistinctLDiversity(column, spec.l) for column in sensitive]
    if spec.t is not None:
        criteria += [an.TCloseness(column, spec.t) for column in sensitive]
    try:
        config = an.Config(
            criteria=tuple(criteria),
            suppression_limit=spec.suppression,
            algorithm=an.Algorithm(spec.algorithm),
        )
        result = an.anonymize(data, definition, None, config, progress=progress)
    except an.AnonymizationError as exc:
        raise InvalidRequest(f"anonymization refused: {exc}") from None
    output = result.output
    return AnonymizedCsv(
        data=output.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        columns=[str(c) for c in output.columns],
        row_count=len(output),
        k=result.verification.k,
        public_report=result.report.to_dict(),
        confidential_method=result.method_record.to_json().encode("utf-8"),
    )


def _info_category(name: str) -> an.InfoCategory:
    try:
        return an.InfoCategory(name)
    except ValueError:
        known = ", ".join(c.value for c in an.InfoCategory)
        raise InvalidRequest(f"unknown information category {name!r}; use one of {known}") from None


def create_anonymized_dataset(
    *, session: Session, job: AnonymizationJob, dataset_id: str, output: AnonymizedCsv
) -> Dataset:
    """Record the verified output of a job as a new `anonymized` dataset."""
    spec = JobSpec.model_validate(job.spec)
    source = get_dataset(session=session, dataset_id=job.source_dataset_id)
    dataset = Dataset(
        id=dataset_id,
        seller_id=job.seller_id,
        title=spec.title,
        description=f"匿名加工情報 (k={output.k}) produced by anonymization job {job.id}",
        category=spec.category,
        data_class="anonymized",
        columns=output.columns,
        tags=list(source.tags),
        row_count=output.row_count,
        size_bytes=len(output.data),
        source_encoding="utf-8",
        sha256=hashlib.sha256(output.data).hexdigest(),
        quality_score=measure_quality(output.data),
        privacy_k=output.k,
        source_dataset_id=source.id,
        public_report=output.public_report,
    )
    session.add(dataset)
    session.flush()
    record_event(
        session,
        "AnonymizedDatasetCreated",
        {"dataset_id": dataset.id, "job_id": job.id, "k": output.k, "rows": output.row_count},
    )
    return dataset


def method_object_id(dataset_id: str) -> str:
    """Where the confidential processing-method record of a dataset is sealed."""
    return f"method-{dataset_id}"
