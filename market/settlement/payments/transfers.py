"""A bank's pooled sale paid out by separate charges and transfers: the Transfer of its share
to the bank's connected account, and the reversals of it that refunds (the market's, or made at
the provider) queue; each call an attempt committed before it is sent (`attempts.py`).

An unanswered call is resent with its key. A refused one is tried again with the next attempt
once its delay has passed, and after the last one is left to an operator (`retries.py`;
`datamarket settlement reconcile` lists it). The ledger is booked by `proceeds.py`.
"""

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from market import db
from market.models import Invoice
from market.settlement.payments import proceeds, retries
from market.settlement.payments.attempts import (
    last_attempt,
    new_attempt,
    open_attempt,
    settle_attempt,
)
from market.settlement.payments.provider import Payments, ProviderDeclined, ProviderUnavailable
from market.settlement.tables import Payment, PaymentAttempt

log = logging.getLogger("datamarket.payments")
TRANSFER = proceeds.TRANSFER_OPERATION
REVERSAL = proceeds.REVERSAL_OPERATION


def queue_reversal(*, session: Session, payment: Payment, subject_id: str) -> None:
    """Commit the call reversing a pooled sale's transfer for a refund (`subject_id`: the
    market's refund, or the ledger transaction of one made at the provider), with the refund
    and its booking (`proceeds.book_reversal`); sent by the payment run after the commit."""
    operation = f"{REVERSAL}{subject_id}"
    session.add(new_attempt(payment, operation))


def send_transfers(*, engine: Engine, provider: Payments, now: Callable[[], datetime]) -> int:
    """Transfer each paid pooled sale's share to its bank's connected account (separate
    charges and transfers); returns how many transfers wait for an answer. A transfer the
    provider refused is tried again with the next attempt once its delay has passed, and
    after the last one is left to an operator (`datamarket settlement reconcile` lists it).
    A sale refunded before its transfer was sent transfers only what is left of the share."""
    with Session(engine) as session:
        # Unanswered (resent for its amount), or refused while refunds booked during it were
        # queued as reversals (its retry pays the share they reverse): transfers still due.
        pending = select(PaymentAttempt.payment_id).where(
            PaymentAttempt.operation == TRANSFER,
            col(PaymentAttempt.status).in_(("sent", retries.REFUSED)),
        )
        due = session.exec(
            select(Payment.id).where(
                Payment.status == "succeeded",
                col(Payment.transfer_to).is_not(None),
                col(Payment.transfer_id).is_(None),
                # Refunded in full before any transfer was sent: nothing is left to pay.
                or_(
                    col(Payment.refunded_yen) < col(Payment.capture_yen),
                    col(Payment.id).in_(pending),
                ),
            )
        ).all()
    waiting = 0
    for payment_id in due:
        with Session(engine) as session:
            payment = session.get(Payment, payment_id)
            invoice = session.get(Invoice, payment.invoice_id or "") if payment else None
            last = last_attempt(session, payment_id, TRANSFER)
            left = (
                proceeds.transfer_amount(session=session, payment=payment, invoice=invoice)
                if payment is not None and invoice is not None
                else 0
            )
        if payment is None or invoice is None or payment.trade_id is None or left <= 0:
            continue
        if last is not None and last.status != "sent" and not _retry_due(last, now()):
            continue  # made, waiting for its retry, or left to an operator
        attempt, _, fresh = open_attempt(engine, payment, TRANSFER)
        with Session(engine) as session:
            amount = proceeds.transfer_amount(session=session, payment=fresh, invoice=invoice)
        if amount <= 0:
            settle_attempt(
                engine, attempt.id, "succeeded", now=now(), detail="nothing left to transfer"
            )
            continue
        try:
            transfer_id = provider.transfer(
                amount_yen=amount,
                destination=fresh.transfer_to or "",
                transfer_group=proceeds.transfer_group(payment.trade_id),
                source_charge=fresh.charge_id,
                metadata={"payment_id": payment.id},
                key=attempt.idempotency_key,
            )
        except ProviderUnavailable:
            waiting += 1
            continue
        except ProviderDeclined as declined:
            _refused(engine, attempt, declined, now())
            continue
        with db.unit_of_work(engine) as session:
            row = session.get(PaymentAttempt, attempt.id)
            if row is not None:
                row.status, row.finished_at = "succeeded", now()
                session.add(row)
            proceeds.book_transfer(
                session=session,
                payment_id=payment.id,
                transfer_id=transfer_id,
                amount_yen=amount,
            )
    return waiting


def _retry_due(last: PaymentAttempt, now: datetime) -> bool:
    """Whether a refused attempt's retry may be sent now."""
    if last.status != retries.REFUSED:
        return False
    at = retries.retry_at(attempt=last.attempt, refused_at=last.finished_at or last.created_at)
    return at is not None and at <= now


def _refused(
    engine: Engine, attempt: PaymentAttempt, declined: ProviderDeclined, now: datetime
) -> None:
    """Keep a definite refusal on its attempt: retried later, or left to an operator."""
    status = retries.refusal_status(attempt.attempt)
    log.warning(
        "payment %s: %s attempt %d refused (%s)",
        attempt.payment_id,
        attempt.operation,
        attempt.attempt,
        "left to an operator" if status == retries.FOR_OPERATOR else "retried later",
    )
    settle_attempt(engine, attempt.id, status, now=now, detail=declined.reason)


def _retry_reversals(engine: Engine, now: datetime) -> None:
    """Commit the next attempt of each refused transfer reversal whose delay has passed
    (with the next number, so a new key); `send_reversals` then sends it."""
    with Session(engine) as session:
        refused = session.exec(
            select(PaymentAttempt).where(
                col(PaymentAttempt.operation).startswith(REVERSAL),
                PaymentAttempt.status == retries.REFUSED,
            )
        ).all()
        due = []
        for last in refused:
            later = session.exec(
                select(PaymentAttempt.id).where(
                    PaymentAttempt.payment_id == last.payment_id,
                    PaymentAttempt.operation == last.operation,
                    PaymentAttempt.attempt > last.attempt,
                )
            ).first()
            payment = session.get(Payment, last.payment_id)
            if later is None and payment is not None and _retry_due(last, now):
                due.append((last, payment))
    for last, payment in due:
        try:
            with db.unit_of_work(engine) as session:
                session.add(new_attempt(payment, last.operation, last.attempt + 1))
        except IntegrityError:
            continue  # another run committed this attempt first


def send_reversals(*, engine: Engine, provider: Payments, now: Callable[[], datetime]) -> int:
    """Send each queued transfer reversal once its transfer is made; returns how many wait
    for an answer. An unanswered one is resent with its key; a refused one is tried again
    with the next attempt once its delay has passed, and after the last one is left to an
    operator (`datamarket settlement reconcile` lists it)."""
    _retry_reversals(engine, now())
    with Session(engine) as session:
        queued = session.exec(
            select(PaymentAttempt, Payment)
            .join(Payment, col(Payment.id) == col(PaymentAttempt.payment_id))
            .where(
                PaymentAttempt.status == "sent",
                col(PaymentAttempt.operation).startswith(REVERSAL),
                col(Payment.transfer_id).is_not(None),
            )
            .order_by(col(PaymentAttempt.created_at))
        ).all()
        calls = []
        for attempt, payment in queued:
            subject = attempt.operation.removeprefix(REVERSAL)
            amount = proceeds.reversal_amount(session=session, payment=payment, subject_id=subject)
            if amount is not None:
                calls.append((attempt, payment, amount))
    waiting = 0
    for attempt, payment, amount in calls:
        try:
            reversal_id = provider.reverse_transfer(
                transfer_id=payment.transfer_id or "",
                amount_yen=amount,
                metadata={"payment_id": payment.id},
                key=attempt.idempotency_key,
            )
        except ProviderUnavailable:
            waiting += 1
            continue
        except ProviderDeclined as declined:
            _refused(engine, attempt, declined, now())
            continue
        settle_attempt(engine, attempt.id, "succeeded", now=now(), detail=reversal_id)
    return waiting
