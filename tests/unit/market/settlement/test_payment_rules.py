"""Card payments' pure rules: states only move forward, idempotency keys name (trade,
operation, attempt), a webhook body is trusted only when its signature verifies, and refused
transfers are retried on a fixed schedule."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from market.settlement.payments import retries
from market.settlement.payments.driver import idempotency_key
from market.settlement.payments.states import RANK, moves_forward
from market.settlement.payments.webhooks import InvalidWebhook, intent_state, verify
from market.settlement.tables import Payment

SECRET = "whsec_unit"


def test_states_move_only_forward() -> None:
    assert moves_forward("requested", "created")
    assert moves_forward("failed", "succeeded")
    assert moves_forward("authorized", "capture_due")
    assert not moves_forward("succeeded", "failed")
    assert not moves_forward("capture_due", "authorized")
    assert not moves_forward("cancel_due", "capture_due")
    assert all(
        not moves_forward(final, other) for final in ("succeeded", "expired") for other in RANK
    )


def test_the_key_names_the_trade_once_bound_else_the_payment() -> None:
    hold = Payment(id="p1", buyer_id="b", bid_id="bid", amount_yen=100)
    assert idempotency_key(payment=hold, operation="create", attempt=1) == "dm_payment_p1_create_1"
    hold.trade_id = "t9"
    assert idempotency_key(payment=hold, operation="capture", attempt=2) == "dm_trade_t9_capture_2"


def _signed(body: str, **when: int) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(body, SECRET, **when))


def test_a_verified_body_is_read_and_a_changed_or_old_one_is_refused() -> None:
    body = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {}})
    assert verify(payload=body.encode(), signature=_signed(body), secret=SECRET)["id"] == "evt_1"
    with pytest.raises(InvalidWebhook, match="does not match"):
        verify(
            payload=body.replace("evt_1", "evt_2").encode(), signature=_signed(body), secret=SECRET
        )
    with pytest.raises(InvalidWebhook, match="older than five minutes"):
        stale = _signed(body, timestamp=int(time.time()) - 301)
        verify(payload=body.encode(), signature=stale, secret=SECRET)
    with pytest.raises(InvalidWebhook, match="missing"):
        verify(payload=body.encode(), signature=None, secret=SECRET)
    not_event = json.dumps([1, 2])
    with pytest.raises(InvalidWebhook, match="not a Stripe event"):
        verify(payload=not_event.encode(), signature=_signed(not_event), secret=SECRET)


def test_an_intent_in_a_webhook_reads_its_charge_and_decline() -> None:
    state = intent_state(
        {
            "id": "pi_1",
            "status": "requires_payment_method",
            "amount": 1_100,
            "latest_charge": {"id": "ch_1"},
            "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
        }
    )
    assert (state.intent_id, state.charge_id, state.failure) == (
        "pi_1",
        "ch_1",
        "insufficient_funds",
    )
    assert (
        intent_state({"id": "pi_2", "status": "succeeded", "latest_charge": "ch_2"}).charge_id
        == "ch_2"
    )


def test_a_refused_transfer_is_retried_on_the_documented_schedule_then_left_to_operators() -> None:
    refused = datetime(2026, 1, 1, tzinfo=UTC)
    waits = [
        retries.retry_at(attempt=n, refused_at=refused) for n in range(1, retries.MAX_ATTEMPTS)
    ]
    assert [w - refused for w in waits if w is not None] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    ]
    assert retries.retry_at(attempt=retries.MAX_ATTEMPTS, refused_at=refused) is None
    assert retries.refusal_status(retries.MAX_ATTEMPTS - 1) == retries.REFUSED
    assert retries.refusal_status(retries.MAX_ATTEMPTS) == retries.FOR_OPERATOR
    assert retries.left_to_operator(status=retries.FOR_OPERATOR, attempt=retries.MAX_ATTEMPTS)
    assert not retries.left_to_operator(status=retries.REFUSED, attempt=1)
