"""Provider calls as persisted attempts: the idempotency key of each call, the attempt row
committed before the call is sent, and its outcome.

The key derives from (trade, operation, attempt). An unanswered attempt stays `sent` and is
resent with its key; only a definite failure lets the next attempt, with the next number and
so a new key, be opened.
"""

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from market import db
from market.settlement.tables import Payment, PaymentAttempt


def idempotency_key(*, payment: Payment, operation: str, attempt: int) -> str:
    """The key of one call: (trade, operation, attempt); a hold not yet traded uses its payment."""
    subject = f"trade_{payment.trade_id}" if payment.trade_id else f"payment_{payment.id}"
    return f"dm_{subject}_{operation}_{attempt}"


def new_attempt(payment: Payment, operation: str, number: int = 1) -> PaymentAttempt:
    """Attempt `number` of a call, with the idempotency key derived from it."""
    return PaymentAttempt(
        payment_id=payment.id,
        operation=operation,
        attempt=number,
        idempotency_key=idempotency_key(payment=payment, operation=operation, attempt=number),
    )


def open_attempt(
    engine: Engine, payment: Payment, operation: str
) -> tuple[PaymentAttempt, bool, Payment]:
    """The attempt to send: the one left unanswered (resent with its key), or a new one,
    committed before the call; whether it is a resend; and the payment as it stands.

    The payment row is locked while the attempt is written, so a trade booked at the same
    moment either sees the attempt (and leaves the call's terms alone) or changes them
    before the call is made from them.
    """
    with db.unit_of_work(engine) as session:
        fresh = session.exec(
            select(Payment).where(Payment.id == payment.id).with_for_update()
        ).one()
        last = last_attempt(session, payment.id, operation)
        if last is not None and last.status == "sent":
            return last, True, fresh
        attempt = new_attempt(fresh, operation, last.attempt + 1 if last is not None else 1)
        session.add(attempt)
    return attempt, False, fresh


def last_attempt(session: Session, payment_id: str, operation: str) -> PaymentAttempt | None:
    """The latest attempt of one call of a payment."""
    return session.exec(
        select(PaymentAttempt)
        .where(PaymentAttempt.payment_id == payment_id, PaymentAttempt.operation == operation)
        .order_by(col(PaymentAttempt.attempt).desc())
    ).first()


def settle_attempt(
    engine: Engine, attempt_id: str, status: str, *, now: datetime, detail: str | None = None
) -> None:
    """Record an attempt's outcome (`succeeded`, or a refusal's status and reason)."""
    with db.unit_of_work(engine) as session:
        row = session.get(PaymentAttempt, attempt_id)
        if row is not None:
            row.status, row.finished_at = status, now
            row.detail = detail[:300] if detail else None
            session.add(row)
