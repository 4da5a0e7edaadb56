"""Anonymization jobs and the public announcements of 匿名加工情報."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.announcement import render_announcement
from api.deps import CurrentParticipant, MarketDep
from api.schemas import AnonymizationJobCreate, AnonymizationJobPublic, ColumnProposal
from market.models import AnonymizationJob

router = APIRouter(tags=["anonymization"])


@router.get("/datasets/{dataset_id}/proposed-columns", response_model=dict[str, ColumnProposal])
def proposed_columns(
    dataset_id: str, market: MarketDep, seller: CurrentParticipant
) -> dict[str, dict[str, str]]:
    """The detector's proposed role of each column of your dataset, with its reason.

    Confirm or edit it, then send it as `spec.columns` of POST /anonymization-jobs.
    """
    return market.propose_columns(seller=seller, dataset_id=dataset_id)


@router.post("/anonymization-jobs", response_model=AnonymizationJobPublic, status_code=202)
def start_job(
    body: AnonymizationJobCreate, market: MarketDep, seller: CurrentParticipant
) -> AnonymizationJob:
    """Queue a job; poll GET /anonymization-jobs/{id} for progress and the resulting dataset."""
    return market.start_anonymization(seller=seller, dataset_id=body.dataset_id, spec=body.spec)


@router.get("/anonymization-jobs/{job_id}", response_model=AnonymizationJobPublic)
def job_status(job_id: str, market: MarketDep, participant: CurrentParticipant) -> AnonymizationJob:
    return market.job(participant=participant, job_id=job_id)


@router.get("/announcements/{dataset_id}", response_class=HTMLResponse)
def announcement(dataset_id: str, market: MarketDep) -> HTMLResponse:
    """The public announcement of an anonymized dataset (APPI art. 43(3), 44): 日本語 and English."""
    dataset = market.public_dataset(dataset_id)
    return HTMLResponse(render_announcement(dataset))
