"""Anonymization jobs: a seller's personal dataset becomes an `anonymized` dataset (匿名加工情報).

The personal input stays encrypted and is never listed or delivered. A job runs the `anonymize`
pipeline in the background with its progress recorded; its output is verified by the pipeline
before it is stored. The public processing report is kept with the new dataset; the confidential
record of the processing method (加工方法等情報) is sealed in the encrypted store and never served.
"""

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator
from sqlmodel import Session

from market.datasets import get_dataset
from market.errors import Conflict, Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import AnonymizationJob, Participant

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
    confidential_method: dict[str, Any]


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


def require_not_running(job: AnonymizationJob) -> None:
    if job.status in ("queued", "running"):
        raise Conflict(f"job {job.id} is still {job.status}")
