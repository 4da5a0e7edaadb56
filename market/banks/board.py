"""The bank's data-ethics board (データ倫理審査会): sensitive requests wait for its reasoned decision."""

from datetime import datetime

from sqlmodel import Session, col, select

from market.banks.pool import provide_pool, require_bank
from market.banks.tables import BoardCase
from market.errors import InvalidRequest, NotFound
from market.events import record_event
from market.models import Participant
from market.personal.requests import REJECTED, close_request, get_request, require_pending
from market.personal.tables import ProvisionRequest


def board_queue(
    *, session: Session, bank_id: str, include_decided: bool = False
) -> list[tuple[BoardCase, ProvisionRequest]]:
    query = select(BoardCase, ProvisionRequest).where(
        BoardCase.bank_id == bank_id, BoardCase.request_id == ProvisionRequest.id
    )
    if not include_decided:
        query = query.where(BoardCase.status == "pending")
    return list(session.exec(query.order_by(col(BoardCase.created_at))))


def decide_case(
    *,
    session: Session,
    bank: Participant,
    request_id: str,
    approve: bool,
    reason: str,
    member: str | None,
    now: datetime,
    ref_key: bytes,
) -> tuple[BoardCase, ProvisionRequest]:
    """Record the board's decision; approval provides from the people covered now."""
    require_bank(bank)
    if not reason.strip():
        raise InvalidRequest("the board records its reasons: send a non-empty reason")
    case = session.get(BoardCase, request_id)
    if case is None or case.bank_id != bank.id:
        raise NotFound(f"your board has no case {request_id}")
    request = get_request(session, request_id)
    require_pending(request)
    case.status = "approved" if approve else "rejected"
    case.reason = reason
    case.member = member
    case.decided_at = now
    session.add(case)
    record_event(
        session, "BoardDecided", {"request_id": request_id, "bank_id": bank.id, "approve": approve}
    )
    if not approve:
        return case, close_request(session, request, REJECTED, now, reason)
    return case, provide_pool(session=session, request=request, bank=bank, now=now, ref_key=ref_key)
