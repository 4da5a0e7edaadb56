"""Payouts to sellers on the embedded default: an operator records a bank transfer sent."""

from sqlmodel import Session

from market.audit import record_operator_action
from market.errors import Conflict, InvalidRequest, NotFound
from market.events import record_event
from market.models import Participant
from market.money import MAX_YEN
from market.settlement.ledger import CASH_ACCOUNT, Posting, credit_balance, payable, post


def record_payout(
    *,
    session: Session,
    operator: Participant,
    seller_id: str,
    amount_yen: int,
    reference: str,
    reason: str,
) -> int:
    """Book a payout to a seller (audited); returns what the market still owes the seller."""
    if not 0 < amount_yen <= MAX_YEN:
        raise InvalidRequest(f"amount_yen must be between 1 and {MAX_YEN:,}")
    if session.get(Participant, seller_id) is None:
        raise NotFound(f"participant {seller_id} does not exist")
    owed = credit_balance(session=session, account=payable(seller_id))
    if amount_yen > owed:
        raise Conflict(f"the market owes this seller {max(owed, 0):,} yen; pay out at most that")
    post(
        session,
        [
            Posting(payable(seller_id), debit_yen=amount_yen),
            Posting(CASH_ACCOUNT, credit_yen=amount_yen),
        ],
        memo=f"payout {reference}",
        kind="payout",
        reference_id=seller_id,
    )
    record_operator_action(
        session=session,
        operator=operator,
        action="payout.recorded",
        target_id=seller_id,
        reason=reason,
        details={"amount_yen": amount_yen, "reference": reference},
    )
    record_event(session, "PayoutRecorded", {"seller_id": seller_id, "amount_yen": amount_yen})
    return owed - amount_yen
