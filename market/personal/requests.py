"""Provision requests: opening one, the person's decision, and what the recipient may receive."""

from datetime import datetime

from sqlmodel import Session, col, select

from market.errors import Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import Participant
from market.personal.categories import UnknownCategory, require_categories
from market.personal.errors import (
    REFUSALS,
    AwaitingPersonDecision,
    BoardDecisionRequired,
    BoardRejected,
    DeclinedByPerson,
    NotSelfControl,
    ProvisionCancelled,
    RequestNotPending,
)
from market.personal.explanation import explain
from market.personal.recipients import RecipientView, recipient_view
from market.personal.tables import ProvisionRequest
from market.purposes import UnknownPurpose, require_leaf_purpose

PENDING = "pending"
BOARD_PENDING = "board_pending"
PROVIDED = "provided"
DECLINED = "declined"
REJECTED = "rejected"
CANCELLED = "cancelled"


def check_terms(purpose: str, categories: list[str], price_per_record_yen: int) -> list[str]:
    """Validate what a recipient asks for; returns the categories sorted."""
    try:
        require_leaf_purpose(purpose)
        codes = require_categories(categories)
    except (UnknownPurpose, UnknownCategory) as exc:
        raise InvalidRequest(str(exc)) from None
    if not codes:
        raise InvalidRequest("name at least one data category")
    if price_per_record_yen < 0:
        raise InvalidRequest("price_per_record_yen cannot be negative")
    return sorted(codes)


def require_recipient(participant: Participant | None) -> RecipientView:
    if participant is None or participant.kind not in ("business", "info_bank"):
        raise InvalidRequest("personal data is provided to registered businesses only")
    return recipient_view(participant)


def refuse(rule: str, who: str) -> None:
    """Raise the named refusal for a failed judgement rule."""
    cls = REFUSALS[rule]
    raise cls(
        f"{who} conditions do not cover this request ({rule.replace('_', ' ')}); "
        "nothing was provided"
    )


def new_request(
    *,
    recipient: RecipientView,
    channel: str,
    holder_id: str,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    term_days: int | None,
    anonymized: bool,
    status: str,
    now: datetime,
    reference: str | None,
) -> ProvisionRequest:
    return ProvisionRequest(
        recipient_id=recipient.id,
        channel=channel,
        holder_id=holder_id,
        purpose=purpose,
        categories=categories,
        price_per_record_yen=price_per_record_yen,
        anonymized=anonymized,
        term_days=term_days,
        status=status,
        explanation=explain(
            recipient=recipient,
            purpose=purpose,
            categories=categories,
            price_per_record_yen=price_per_record_yen,
            term_days=term_days,
            channel=channel,
            anonymized=anonymized,
        ),
        reference=reference,
        created_at=now,
    )


def get_request(session: Session, request_id: str) -> ProvisionRequest:
    request = session.get(ProvisionRequest, request_id)
    if request is None:
        raise NotFound(f"there is no provision request {request_id}")
    return request


def pending_for_person(*, session: Session, person_id: str) -> list[ProvisionRequest]:
    query = select(ProvisionRequest).where(
        ProvisionRequest.holder_id == person_id,
        ProvisionRequest.channel == "direct",
        ProvisionRequest.status == PENDING,
    )
    return list(session.exec(query.order_by(col(ProvisionRequest.created_at))))


def close_request(
    session: Session, request: ProvisionRequest, status: str, now: datetime, reason: str | None
) -> ProvisionRequest:
    request.status = status
    request.reason = reason
    request.decided_at = now
    session.add(request)
    record_event(
        session,
        "ProvisionRequestClosed",
        {"request_id": request.id, "status": status, "recipient_id": request.recipient_id},
    )
    return request


def require_pending(request: ProvisionRequest) -> None:
    if request.status not in (PENDING, BOARD_PENDING):
        raise RequestNotPending(f"request {request.id} is already {request.status}")


def require_deliverable(request: ProvisionRequest, recipient_id: str) -> None:
    """What a recipient may receive: only after every decision the request needs."""
    if request.recipient_id != recipient_id:
        raise Forbidden(f"request {request.id} was made by another recipient")
    if request.status == BOARD_PENDING:
        raise BoardDecisionRequired(
            "this request touches special-care-required data and waits for the bank's "
            "data-ethics board; nothing is provided before its decision"
        )
    if request.status == REJECTED:
        raise BoardRejected(f"the data-ethics board rejected this request: {request.reason}")
    if request.status == PENDING:
        raise AwaitingPersonDecision(
            "the person has not decided yet; nothing is provided before their approval"
        )
    if request.status == DECLINED:
        raise DeclinedByPerson("the person declined this request; nothing was provided")
    if request.status != PROVIDED:
        raise ProvisionCancelled(
            f"request {request.id} ended {request.status}: nothing was provided"
            + (f" ({request.reason})" if request.reason else "")
        )


def ensure_self_control(delegated_to: str | None) -> None:
    if delegated_to is not None:
        raise NotSelfControl(
            "this person has delegated to an information bank; buy through the bank's pool"
        )
