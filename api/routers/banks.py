"""Information banks' data-ethics board, and what a recipient sees of its provision requests."""

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CurrentParticipant, MarketDep
from api.routers.individuals import Body, Explanations, RequestPublic
from market.banks.tables import BoardCase
from market.personal.tables import ProvisionRequest

router = APIRouter(tags=["information banks"])


class BoardCasePublic(BaseModel):
    request_id: str
    status: Literal["pending", "approved", "rejected"]
    recipient_id: str
    purpose: str
    categories: list[str]
    price_per_record_yen: int
    min_cohort: int
    explanation: Explanations
    created_at: datetime
    decided_at: datetime | None
    member: str | None
    reason: str | None
    request_status: str = Field(
        description="The request after the decision (provided, rejected...)"
    )


class BoardDecision(Body):
    approve: bool = Field(strict=True)
    reason: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")
    member: str | None = Field(
        default=None,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="The board member recording the decision",
    )


class DeliveredRecord(BaseModel):
    person_ref: str = Field(description="Stable for you, different for every other recipient")
    category: str
    data: dict[str, Any]


def _case(case: BoardCase, request: ProvisionRequest) -> BoardCasePublic:
    return BoardCasePublic(
        request_id=case.request_id,
        status=case.status,
        recipient_id=request.recipient_id,
        purpose=request.purpose,
        categories=request.categories,
        price_per_record_yen=request.price_per_record_yen,
        min_cohort=request.min_cohort,
        explanation=Explanations.model_validate(request.explanation),
        created_at=case.created_at,
        decided_at=case.decided_at,
        member=case.member,
        reason=case.reason,
        request_status=request.status,
    )


@router.get("/banks/me/board", response_model=list[BoardCasePublic])
def board(
    market: MarketDep, bank: CurrentParticipant, include_decided: bool = False
) -> list[BoardCasePublic]:
    """Requests touching 要配慮個人情報 waiting for your data-ethics board (oldest first)."""
    return [
        _case(case, request)
        for case, request in market.banks.board(bank=bank, include_decided=include_decided)
    ]


@router.post("/banks/me/board/{request_id}/decision", response_model=BoardCasePublic)
def decide(
    request_id: str, body: BoardDecision, market: MarketDep, bank: CurrentParticipant
) -> BoardCasePublic:
    """Record the board's decision with its reasons; approval provides from the people covered now."""
    case, request = market.banks.decide(
        bank=bank,
        request_id=request_id,
        approve=body.approve,
        reason=body.reason,
        member=body.member,
    )
    return _case(case, request)


@router.get("/provision-requests/{request_id}", response_model=RequestPublic, tags=["buyers"])
def provision_request(
    request_id: str, market: MarketDep, recipient: CurrentParticipant
) -> ProvisionRequest:
    """A request you made for personal data: its status and, if rejected, the reason."""
    return market.pds.request_for_recipient(recipient=recipient, request_id=request_id)


@router.get(
    "/provision-requests/{request_id}/records",
    response_model=list[DeliveredRecord],
    tags=["buyers"],
)
def provided_records(
    request_id: str, market: MarketDep, recipient: CurrentParticipant
) -> list[dict[str, Any]]:
    """The records provided for your request: one row per record, people named pseudonymously."""
    return market.pds.delivered_rows(recipient=recipient, request_id=request_id)
