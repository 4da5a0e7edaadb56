"""Provider webhooks: verified by signature, handled once per event id, in any order.

`verify` checks the `Stripe-Signature` header with the SDK (`stripe.WebhookSignature`), so a
tampered or stale body is refused before anything is read from it. `handle` records the event id
(a redelivery changes nothing) and applies the event through the forward-only state machine, so
events arriving late or out of order never undo a later state.
"""

import json
import time
from datetime import datetime
from typing import Any

import stripe
from sqlmodel import Session, col, or_, select

from market.errors import InvalidRequest
from market.money import MAX_YEN
from market.settlement.disputes import record_dispute
from market.settlement.payments import booking, proceeds
from market.settlement.payments.driver import apply_state
from market.settlement.payments.provider import IntentState
from market.settlement.payments.transfers import queue_reversal
from market.settlement.tables import Payment, WebhookEvent

# Stripe's default: a signature older than five minutes is a replay.
TOLERANCE_SECONDS = 300
INTENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.amount_capturable_updated",
)
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed")


class InvalidWebhook(InvalidRequest):
    """A webhook whose signature does not verify (or is too old): nothing was changed."""

    status = 400
    title = "Invalid webhook"


def verify(*, payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event in a signed body; InvalidWebhook when the signature is missing, wrong, stale or
    dated ahead (more than the tolerance: clocks differ a little, not minutes)."""
    if not signature:
        raise InvalidWebhook("the Stripe-Signature header is missing")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_SECONDS)
        event = json.loads(text)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook(
            "the signature does not match the body, or it is older than five minutes"
        ) from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidWebhook("the body is not a JSON event") from None
    if _signed_at(signature) > time.time() + TOLERANCE_SECONDS:
        # The SDK refuses only signatures that are too old; one dated ahead would stay
        # replayable until that time came and went.
        raise InvalidWebhook("the signature is dated more than five minutes in the future")
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidWebhook("the body is not a Stripe event")
    _check_shape(event)
    return event


def _signed_at(signature: str) -> int:
    """The `t=` timestamp of a Stripe-Signature header the SDK verified (so it is there)."""
    for item in signature.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            return int(value)
    raise InvalidWebhook("the Stripe-Signature header has no timestamp")


# The fields of `data.object` each kind of event is read for, and what each may hold: a signed
# event of another shape is refused whole, before anything is recorded (it cannot come from
# Stripe, and read as it is it would fail mid-booking or record a dispute with no id).
_TEXT = "text"
_OPTIONAL_TEXT = "text or null"
_YEN = "a whole number of yen or null"
_OBJECT = "an object or null"
_TEXT_VALUES = "an object of text values or null"
_CHARGE = "an id, a charge object or null"
_INTENT_FIELDS = {
    "id": _OPTIONAL_TEXT,
    "status": _OPTIONAL_TEXT,
    "amount": _YEN,
    "amount_received": _YEN,
    "latest_charge": _CHARGE,
    "last_payment_error": _OBJECT,
    "metadata": _TEXT_VALUES,
}
_DISPUTE_FIELDS = {
    "id": _TEXT,
    "status": _OPTIONAL_TEXT,
    "charge": _OPTIONAL_TEXT,
    "payment_intent": _OPTIONAL_TEXT,
    "amount": _YEN,
    "reason": _OPTIONAL_TEXT,
}
_FIELDS_READ: dict[str, dict[str, str]] = {
    **{kind: _INTENT_FIELDS for kind in INTENT_EVENTS},
    "charge.refunded": {"id": _OPTIONAL_TEXT, "payment_intent": _OPTIONAL_TEXT},
    **{kind: _DISPUTE_FIELDS for kind in DISPUTE_EVENTS},
}
MAX_EVENT_ID_CHARS = 100  # the `webhook_event` key: a longer id would be cut and could collide


def _check_shape(event: dict[str, Any]) -> None:
    """Refuse an event whose type, data or read fields are not what Stripe sends."""
    if len(event["id"]) > MAX_EVENT_ID_CHARS:
        raise InvalidWebhook(f"the event id is longer than {MAX_EVENT_ID_CHARS} characters")
    if _holds_nul(event):
        raise InvalidWebhook("the event holds a NUL character (\\u0000), which Stripe never sends")
    data = event.get("data") or {}
    obj = (data.get("object") or {}) if isinstance(data, dict) else None
    if not isinstance(event.get("type"), str) or not isinstance(obj, dict):
        raise InvalidWebhook(
            "the body is not a Stripe event: its `type` is not text or its `data.object` is not "
            "an object"
        )
    for name, expected in _FIELDS_READ.get(event["type"], {}).items():
        if not _holds(obj.get(name), expected):
            raise InvalidWebhook(f"the event's data.object.{name} is not {expected}")


def _holds_nul(value: Any) -> bool:
    """Whether any text in a JSON value holds a NUL (PostgreSQL stores no NUL in text)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _holds(value: Any, expected: str) -> bool:
    if value is None:
        return expected != _TEXT
    if expected in (_TEXT, _OPTIONAL_TEXT):
        return isinstance(value, str)
    if expected == _YEN:
        return type(value) is int and 0 <= value <= MAX_YEN
    if expected == _CHARGE:
        return isinstance(value, str | dict)
    if expected == _TEXT_VALUES:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return isinstance(value, dict)


def intent_state(intent: dict[str, Any]) -> IntentState:
    """A PaymentIntent as a webhook carries it."""
    charge = intent.get("latest_charge")
    charge_id = charge.get("id") if isinstance(charge, dict) else charge
    error = intent.get("last_payment_error") or {}
    failure = error.get("decline_code") or error.get("code") if isinstance(error, dict) else None
    return IntentState(
        intent_id=str(intent.get("id")),
        status=str(intent.get("status")),
        amount_yen=int(intent.get("amount") or 0),
        received_yen=int(intent.get("amount_received") or 0),
        charge_id=charge_id,
        failure=str(failure) if failure else None,
        metadata=dict(intent.get("metadata") or {}),
    )


def _payment_of_intent(session: Session, intent: dict[str, Any]) -> Payment | None:
    """The payment of a PaymentIntent: by its id, or by our metadata when the answer that
    carried its id was lost."""
    by_id = session.exec(select(Payment).where(Payment.intent_id == intent.get("id"))).first()
    if by_id is not None:
        return by_id
    payment_id = (intent.get("metadata") or {}).get("payment_id")
    payment = session.get(Payment, payment_id) if payment_id else None
    if payment is not None and payment.intent_id is None:
        payment.intent_id = str(intent.get("id"))
        session.add(payment)
        session.flush()
        return payment
    return None


def payment_of_charge(*, session: Session, charge: dict[str, Any]) -> Payment | None:
    """The payment of a charge a `charge.*` event carries (by charge or PaymentIntent id)."""
    return session.exec(
        select(Payment).where(
            or_(
                col(Payment.charge_id) == charge.get("id"),
                col(Payment.intent_id) == charge.get("payment_intent"),
            )
        )
    ).first()


def handle(
    *,
    session: Session,
    event: dict[str, Any],
    now: datetime,
    refunded_elsewhere_yen: int | None = None,
) -> str:
    """Apply one verified event; returns what it did (a redelivered event does nothing).

    For `charge.refunded`, `refunded_elsewhere_yen` is what the provider says was refunded
    outside the market (asked by the caller before the transaction): the event's own
    `amount_refunded` also counts the market's refunds and cannot tell which of them it holds.
    What it adds up to beyond what was booked before is booked once, whatever the order of the
    events; for a bank's pooled sale whose transfer was sent, the bank's part of it is reversed
    as for the market's own refund (`_reverse_bank_part`).
    """
    if session.get(WebhookEvent, event["id"]) is not None:
        return "duplicate"
    kind = str(event.get("type"))
    obj = (event.get("data") or {}).get("object") or {}
    outcome = "ignored"
    if kind in INTENT_EVENTS:
        payment = _payment_of_intent(session, obj)
        if payment is not None:
            apply_state(session=session, payment=payment, state=intent_state(obj), now=now)
            session.refresh(payment)
            outcome = f"payment {payment.id} {payment.status}"
    elif kind == "charge.refunded":
        payment = payment_of_charge(session=session, charge=obj)
        if payment is not None and refunded_elsewhere_yen is not None:
            booked = booking.provider_refund(
                session=session,
                payment=payment,
                refunded_elsewhere_yen=refunded_elsewhere_yen,
                now=now,
            )
            if booked is not None:
                _reverse_bank_part(session, payment, booked)
            outcome = f"payment {payment.id} refunded {booked.amount_yen if booked else 0} yen more"
    elif kind in DISPUTE_EVENTS:
        dispute = record_dispute(session=session, dispute=obj)
        outcome = f"dispute {dispute.id} {dispute.status}"
    session.add(WebhookEvent(id=event["id"][:100], type=kind[:100], outcome=outcome[:200]))
    return outcome


def _reverse_bank_part(
    session: Session, payment: Payment, booked: booking.ProviderRefundBooked
) -> None:
    """Take a pooled sale's bank's part of a refund made at the provider back from its
    transfer: booked now, the reversal call queued for the payment run (none when the
    transfer was not sent yet: it then pays only what is left)."""
    if proceeds.book_reversal(
        session=session,
        payment=payment,
        subject_id=booked.transaction_id,
        amount_yen=booked.seller_yen,
    ):
        queue_reversal(session=session, payment=payment, subject_id=booked.transaction_id)
