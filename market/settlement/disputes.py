"""Disputes (chargebacks) opened at the payment provider, recorded for operators to answer."""

from typing import Any

from sqlmodel import Session, col, or_, select

from market.events import record_event
from market.settlement.tables import Dispute, Payment

# Stripe's dispute statuses, in the order a dispute moves through them.
STATUS_ORDER = (
    "warning_needs_response",
    "warning_under_review",
    "needs_response",
    "under_review",
    "warning_closed",
    "won",
    "lost",
)


def _rank(status: str) -> int:
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else -1


def record_dispute(*, session: Session, dispute: dict[str, Any]) -> Dispute:
    """Record a provider dispute, or move a known one's status forward."""
    provider_id = str(dispute.get("id"))
    status = str(dispute.get("status") or "needs_response")[:40]
    found = session.exec(select(Dispute).where(Dispute.provider_dispute_id == provider_id)).first()
    if found is not None:
        if _rank(status) > _rank(found.status):
            found.status = status
            session.add(found)
        return found
    charge_id = dispute.get("charge")
    intent_id = dispute.get("payment_intent")
    payment = session.exec(
        select(Payment).where(
            or_(
                col(Payment.charge_id) == charge_id,
                col(Payment.intent_id) == intent_id,
            )
        )
    ).first()
    row = Dispute(
        provider_dispute_id=provider_id,
        payment_id=payment.id if payment else None,
        charge_id=str(charge_id) if charge_id else None,
        amount_yen=int(dispute.get("amount") or 0),
        reason=str(dispute.get("reason") or "general")[:100],
        status=status,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "DisputeOpened",
        {"dispute_id": row.id, "payment_id": row.payment_id, "amount_yen": row.amount_yen},
    )
    return row


def list_disputes(*, session: Session, limit: int = 100) -> list[Dispute]:
    return list(session.exec(select(Dispute).order_by(col(Dispute.created_at).desc()).limit(limit)))
