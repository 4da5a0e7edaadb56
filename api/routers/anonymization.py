"""Anonymization jobs, their overrides for operators, and the public announcements of 匿名加工情報."""

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.announcement import render_announcement
from api.deps import CurrentParticipant, MarketDep, OperatorUser
from api.paging import Cursor, Limit, paginated
from api.schemas import AnonymizationJobCreate, AnonymizationJobPublic, ColumnProposal
from market.models import AnonymizationJob

router = APIRouter(tags=["anonymization"])


class OverridePublic(BaseModel):
    """A column where the seller's label and the detector's finding disagreed, and who won."""

    column: str
    labelled: str = Field(description="the kind the seller labelled the column")
    applied: str = Field(description="the kind the job processed it as")
    category: str
    finding: str = Field(description="what the detector found (never a cell value)")
    by: Literal["detector", "seller"] = Field(
        description="detector: the finding replaced the label (identifiers are removed, "
        "addresses and dates generalized); seller: the label stood, with the seller's reason"
    )
    reason: str | None = Field(description="the seller's reason for the override")


class AnonymizationJobWithOverrides(AnonymizationJobPublic):
    overrides: list[OverridePublic]


class OperatorAnonymizationJob(AnonymizationJobWithOverrides):
    seller_id: str


@router.get("/datasets/{dataset_id}/proposed-columns", response_model=dict[str, ColumnProposal])
def proposed_columns(
    dataset_id: str, market: MarketDep, seller: CurrentParticipant
) -> dict[str, dict[str, str]]:
    """The detector's proposed role of each column of your dataset, with its reason.

    Confirm or edit it, then send it as `spec.columns` of POST /anonymization-jobs.
    """
    return market.data.propose_columns(seller=seller, dataset_id=dataset_id)


@router.post("/anonymization-jobs", response_model=AnonymizationJobPublic, status_code=202)
def start_job(
    body: AnonymizationJobCreate, market: MarketDep, seller: CurrentParticipant
) -> AnonymizationJob:
    """Queue a job; poll GET /anonymization-jobs/{id} for progress and the resulting dataset.

    The job checks your labels against the detector's findings before anything is processed,
    and scans the anonymized output for personal identifiers before it is stored.
    """
    return market.data.start_anonymization(
        seller=seller, dataset_id=body.dataset_id, spec=body.spec
    )


@router.get("/anonymization-jobs/{job_id}", response_model=AnonymizationJobWithOverrides)
def job_status(job_id: str, market: MarketDep, participant: CurrentParticipant) -> AnonymizationJob:
    """A job's progress, its result or failure reason, and the overrides applied to your labels."""
    return market.data.job(participant=participant, job_id=job_id)


@router.get(
    "/operator/anonymization-jobs",
    response_model=list[OperatorAnonymizationJob],
    tags=["operators"],
)
def operator_jobs(
    market: MarketDep,
    _: OperatorUser,
    request: Request,
    response: Response,
    status: Literal["queued", "running", "succeeded", "failed"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[AnonymizationJob]:
    """Anonymization jobs of every seller, newest first, with the overrides of their labels."""
    equals = {"status": status} if status else {}
    page = market.find_page(AnonymizationJob, cursor=cursor, limit=limit, **equals)
    return paginated(request, response, page)


@router.get("/announcements/{dataset_id}", response_class=HTMLResponse)
def announcement(dataset_id: str, market: MarketDep) -> HTMLResponse:
    """The public announcement of an anonymized dataset (APPI art. 43(3), 44): 日本語 and English."""
    dataset = market.data.public_dataset(dataset_id)
    return HTMLResponse(render_announcement(dataset))
