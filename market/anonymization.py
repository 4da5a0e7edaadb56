"""Anonymization jobs: a seller's personal dataset becomes an `anonymized` dataset (匿名加工情報).

The personal input stays encrypted and is never listed or delivered. A job runs the `anonymize`
pipeline in the background with its progress recorded; its output is verified by the pipeline
and scanned for identifiers before it is stored.

One definition path serves the API's jobs and `datamarket anonymize`: a `PrivacySpec` (the
seller's labels and privacy model) is resolved against the detector's findings (`resolve`, whose
overrides are recorded on the job), then released and scanned (`release`). The public processing report is kept with the new dataset; the confidential
record of the processing method (加工方法等情報) is sealed in the encrypted store and never served.
"""

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    ValidationError,
    model_validator,
)
from sqlmodel import Session

import anonymize as an
from market.datasets import content_digest, csv_frame, get_dataset, measure_quality
from market.errors import Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import AnonymizationJob, Dataset, Participant

Progress = Callable[[str, float], None]
S = TypeVar("S", bound="PrivacySpec")


class ReleaseBlocked(InvalidRequest):
    """The scan of an anonymized output found personal identifiers; nothing was stored."""

    title = "Anonymized output blocked"


class OverrideNeedsReason(InvalidRequest):
    """A label releases a detected column less protected than proposed, without a reason."""


class ColumnRole(BaseModel):
    """How one column is treated: its kind, its category, and why a finding is overridden."""

    # The detector's proposal (GET /datasets/{id}/proposed-columns) is sent back as is: its
    # `reason` is the detector's, not the seller's, and is ignored here.
    model_config = ConfigDict(extra="ignore")

    kind: an.ColumnKind = Field(
        description="identifying and linking columns are deleted, quasi_identifying ones "
        "generalized, sensitive and insensitive ones released as is"
    )
    category: an.InfoCategory = Field(
        default=an.InfoCategory.OTHER,
        description="category of personal information; `other` takes the detector's finding",
    )
    override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="why this column is released less protected than the detector proposes "
        "(e.g. insensitive where it found a sensitive item); recorded on the job and shown to "
        "the market's operators. Names, identification codes, phone numbers, e-mail addresses "
        "and linking IDs are removed, addresses and dates generalized, whatever the reason",
    )


class PrivacySpec(BaseModel):
    """The definition and privacy model of a release: the part the API and the CLI share."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, ColumnRole] = Field(
        min_length=1, description="the role of every column of the dataset, by column name"
    )
    k: int = Field(ge=2, le=1_000_000, description="k of k-anonymity (Sweeney 2002)")
    l: int | None = Field(  # noqa: E741  (l-diversity's own name)
        default=None, ge=2, description="distinct l-diversity of each sensitive column"
    )
    t: StrictFloat | None = Field(
        default=None, gt=0, lt=1, description="t-closeness (earth mover's distance)"
    )
    suppression: StrictFloat = Field(default=0.0, ge=0, le=0.5, description="share of rows")
    algorithm: Literal["auto", "optimal", "mondrian"] = "auto"
    quality: Literal["dm", "aecs", "entropy", "ncp"] = Field(
        default="dm", description="information-loss measure the search minimizes"
    )
    relaxed_mondrian: StrictBool = False

    @model_validator(mode="after")
    def _needs_quasi_identifiers(self) -> "PrivacySpec":
        if not any(role.kind == "quasi_identifying" for role in self.columns.values()):
            raise ValueError("name at least one quasi_identifying column")
        if (self.l or self.t) and not any(r.kind == "sensitive" for r in self.columns.values()):
            raise ValueError("l-diversity and t-closeness need a sensitive column")
        return self


class JobSpec(PrivacySpec):
    """What the seller confirmed: every column's role, the privacy model and the output listing."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Health checkups 2026 (anonymized)",
                    "category": "healthcare.checkup",
                    "columns": {
                        "氏名": {"kind": "identifying", "category": "name"},
                        "年齢": {"kind": "quasi_identifying", "category": "age"},
                        "性別": {"kind": "quasi_identifying", "category": "gender"},
                        "診断": {"kind": "sensitive"},
                    },
                    "k": 5,
                    "l": 2,
                }
            ]
        },
    )

    title: str = Field(
        min_length=1,
        max_length=200,
        # A title is one line; a NUL would fail the job on PostgreSQL after it was accepted.
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="title of the new dataset",
    )
    category: str = Field(
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$",
        max_length=100,
        description="dataset category of the new dataset (e.g. healthcare.checkup)",
    )


@dataclass(frozen=True)
class AnonymizedCsv:
    """What the pipeline produced, ready to store."""

    data: bytes
    columns: list[str]
    row_count: int
    k: int
    public_report: dict[str, Any]
    confidential_method: bytes


def parse_spec(raw: JobSpec | Mapping[str, Any]) -> JobSpec:
    """Validate a job specification; raise InvalidRequest naming the fields at fault."""
    return raw if isinstance(raw, JobSpec) else _validated(JobSpec, raw)


def parse_privacy_spec(raw: Mapping[str, Any]) -> PrivacySpec:
    """Validate a release specification without listing fields (the CLI's)."""
    return _validated(PrivacySpec, raw)


def _validated(model: type[S], raw: Mapping[str, Any]) -> S:
    try:
        return model.model_validate(raw)
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


def read_input(raw_csv: bytes) -> pd.DataFrame:
    """A stored personal dataset (UTF-8 CSV) as a table of strings."""
    return csv_frame(raw_csv)


def resolve(data: pd.DataFrame, spec: PrivacySpec) -> an.Resolution:
    """The seller's labels under the detector's findings; InvalidRequest if the labels cannot stand.

    The first half of the one definition path of the API's jobs and `datamarket anonymize`.
    """
    labels = an.Definition(
        {name: an.ColumnSpec(role.kind, role.category) for name, role in spec.columns.items()}
    )
    reasons = {
        name: role.override_reason for name, role in spec.columns.items() if role.override_reason
    }
    try:
        return an.resolve_definition(data, labels, reasons)
    except an.OverrideWithoutReason as exc:
        raise OverrideNeedsReason(f"anonymization refused: {exc}") from None
    except an.AnonymizationError as exc:
        raise InvalidRequest(f"anonymization refused: {exc}") from None


def release(
    data: pd.DataFrame,
    spec: PrivacySpec,
    resolution: an.Resolution,
    *,
    hierarchies: Mapping[str, an.Hierarchy] | None = None,
    progress: Progress | None = None,
) -> an.AnonymizationResult:
    """Anonymize under the resolved definition and scan the output before anyone stores it.

    The second half of the one definition path: raise InvalidRequest if the pipeline refuses,
    ReleaseBlocked if the output still holds personal identifiers.
    """
    given = dict(hierarchies or {})
    sensitive = resolution.definition.sensitive
    if (spec.l or spec.t) and not sensitive:
        raise InvalidRequest(
            "anonymization refused: l-diversity and t-closeness need a sensitive column, and "
            "every column labelled sensitive is removed as an identifier"
        )
    criteria: list[an.Criterion] = [an.KAnonymity(spec.k)]
    if spec.l is not None:
        criteria += [an.DistinctLDiversity(column, spec.l) for column in sensitive]
    if spec.t is not None:
        # A hierarchy given for a sensitive column makes t-closeness use hierarchical distance.
        criteria += [an.TCloseness(column, spec.t, given.get(column)) for column in sensitive]
    try:
        config = an.Config(
            criteria=tuple(criteria),
            suppression_limit=spec.suppression,
            quality=an.QualityModel(spec.quality),
            algorithm=an.Algorithm(spec.algorithm),
            relaxed_mondrian=spec.relaxed_mondrian,
        )
        result = an.anonymize(data, resolution.definition, given, config, progress=progress)
        an.scan_release(result.output)
    except an.ReleaseBlocked as exc:
        raise ReleaseBlocked(str(exc)) from None
    except an.AnonymizationError as exc:
        raise InvalidRequest(f"anonymization refused: {exc}") from None
    return result


def run_pipeline(
    data: pd.DataFrame, spec: JobSpec, resolution: an.Resolution, progress: Progress
) -> AnonymizedCsv:
    """Release a job's table, ready to store; raise InvalidRequest if it is refused or blocked."""
    result = release(data, spec, resolution, progress=progress)
    output = result.output
    return AnonymizedCsv(
        data=output.to_csv(index=False, lineterminator="\n").encode("utf-8"),
        columns=[str(c) for c in output.columns],
        row_count=len(output),
        k=result.verification.k,
        public_report=result.report.to_dict(),
        confidential_method=result.method_record.to_json().encode("utf-8"),
    )


def override_records(resolution: an.Resolution) -> list[dict[str, str | None]]:
    """The overrides of a resolution as stored on the job and shown to operators."""
    return [override.to_dict() for override in resolution.overrides]


def create_anonymized_dataset(
    *, session: Session, job: AnonymizationJob, dataset_id: str, output: AnonymizedCsv
) -> Dataset:
    """Record the verified output of a job as a new `anonymized` dataset."""
    spec = JobSpec.model_validate(job.spec)
    source = get_dataset(session=session, dataset_id=job.source_dataset_id)
    # The source's declaration does not carry over: generalized values no longer fit it.
    frame = csv_frame(output.data)
    quality = measure_quality(frame, public_report=output.public_report)
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
        content_digest=content_digest(frame),
        quality_score=quality.score,
        quality=quality.to_dict(),
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
