"""`POST /webhooks/stripe` on a live market paid through localstripe: events localstripe signs
and sends itself, and events signed here for what it never sends (refunds, disputes). Valid,
tampered, stale, replayed and out-of-order deliveries; a bad one is a 400 problem and changes
nothing."""

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from api.app import create_app
from market import db
from market.models import Licence
from market.participants import register_participant
from market.settings import Settings
from market.settlement.tables import LedgerTransaction, Payment, WebhookEvent
from tests.e2e.test_market_slice import PROBLEM, auth, register, upload
from tests.stripe_support import (
    API_KEY,
    DECLINED_ON_CHARGE,
    WEBHOOK_SECRET,
    card,
    event,
    register_webhook,
    signed,
    stripe_client,
)

# localstripe_server and localstripe_url
pytest_plugins = ["tests.stripe_support"]
PURPOSE = "research.academic"


@pytest.fixture
def settings(settings: Settings, localstripe_url: str) -> Settings:
    return settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_api_base": localstripe_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
        }
    )


@pytest.fixture
def engine(settings: Settings, live_url: str) -> Iterator[Engine]:
    """The live market's database, read beside it."""
    engine = db.make_engine(settings.resolved_database_url)
    yield engine
    engine.dispose()


def _wait(check: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _buy_by_card(http: httpx.Client, localstripe_url: str, number: str) -> tuple[str, str]:
    """A seller's listing bought by a self-registered buyer (no credit) paying by card;
    returns (buyer's key, dataset id)."""
    seller = register(http, "東都センサー株式会社")
    dataset = upload(http, seller, b"sensor,reading\nS1,10\nS2,12\n").json()["id"]
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={"dataset_id": dataset, "price_yen": 1_000, "allowed_purposes": ["research"]},
    )
    assert listing.status_code == 201, listing.text
    buyer = register(http, "Buyer KK")
    card_set = http.put(
        "/me/card", headers=auth(buyer), json={"payment_method_id": card(localstripe_url, number)}
    )
    assert card_set.status_code == 200 and card_set.json()["card_payments"] is True, card_set.text
    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": listing.json()["instrument"],
            "max_price_yen": 1_000,
            "purpose": PURPOSE,
            "dataset_id": dataset,
        },
    )
    assert bid.status_code == 201, bid.text
    return buyer, dataset


def _payment(http: httpx.Client, buyer: str, status: str) -> dict[str, Any] | None:
    payments = http.get("/payments", headers=auth(buyer)).json()
    return next((p for p in payments if p["status"] == status), None)


def _events(engine: Engine, kind: str | None = None) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(WebhookEvent)
        if kind is not None:
            query = query.where(WebhookEvent.type == kind)
        return int(session.exec(query).one())


def _post(http: httpx.Client, body: bytes, header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return http.post("/webhooks/stripe", content=body, headers=headers)


def test_localstripe_signs_and_delivers_events_and_data_flows_only_after_payment(
    http: httpx.Client, live_url: str, localstripe_url: str, engine: Engine
) -> None:
    register_webhook(localstripe_url, f"{live_url}/webhooks/stripe")
    buyer, dataset = _buy_by_card(http, localstripe_url, "4242424242424242")
    paid = _wait(lambda: _payment(http, buyer, "succeeded"), "the card payment")
    assert paid["capture_yen"] == 1_100
    _wait(lambda: _events(engine, "payment_intent.succeeded"), "localstripe's signed event")
    download = http.get(f"/datasets/{dataset}/download", headers=auth(buyer))
    assert download.status_code == 200, download.text

    declined_buyer, declined_dataset = _buy_by_card(http, localstripe_url, DECLINED_ON_CHARGE)
    failed = _wait(lambda: _payment(http, declined_buyer, "failed"), "the declined payment")
    assert "declined" in failed["failure_reason"] and failed["deadline_at"]
    refused = http.get(f"/datasets/{declined_dataset}/download", headers=auth(declined_buyer))
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert "declined" in refused.json()["detail"]
    _wait(lambda: _events(engine, "payment_intent.payment_failed"), "the failure event")


def _paid(http: httpx.Client, localstripe_url: str, engine: Engine) -> Payment:
    buyer, _ = _buy_by_card(http, localstripe_url, "4242424242424242")
    _wait(lambda: _payment(http, buyer, "succeeded"), "the card payment")
    with Session(engine) as session:
        payment = session.exec(select(Payment)).one()
    return payment


def _intent(payment: Payment, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": payment.intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": payment.capture_yen,
        "metadata": {"payment_id": payment.id},
        **extra,
    }


def test_tampered_stale_and_unsigned_webhooks_are_refused_and_change_nothing(
    http: httpx.Client, localstripe_url: str, engine: Engine
) -> None:
    payment = _paid(http, localstripe_url, engine)
    failed = event(
        "payment_intent.payment_failed",
        _intent(payment, "requires_payment_method", last_payment_error={"code": "card_declined"}),
        event_id="evt_tampered",
    )
    body, header = signed(failed)
    before = _events(engine)
    tampered = _post(http, body.replace(b"evt_tampered", b"evt_tampered2"), header)
    stale_body, stale_header = signed(failed, timestamp=int(time.time()) - 600)
    stale = _post(http, stale_body, stale_header)
    unsigned = _post(http, body, None)
    wrong_secret = _post(http, *signed(failed, secret="whsec_other"))
    # Signed with the right secret but dated an hour ahead: replayable for an hour otherwise.
    ahead = _post(http, *signed(failed, timestamp=int(time.time()) + 3_600))
    assert "future" in ahead.json()["detail"]
    for response in (tampered, stale, unsigned, wrong_secret, ahead):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"] == PROBLEM
    assert _events(engine) == before
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "succeeded"  # type: ignore[union-attr]


def test_a_replayed_or_late_event_changes_nothing_and_a_full_refund_revokes_the_licence(
    http: httpx.Client, localstripe_url: str, engine: Engine
) -> None:
    payment = _paid(http, localstripe_url, engine)
    # A failure reported after the success (out of order) leaves the payment paid.
    late = event(
        "payment_intent.payment_failed",
        _intent(payment, "requires_payment_method", last_payment_error={"code": "card_declined"}),
        event_id="evt_late_failure",
    )
    assert _post(http, *signed(late)).status_code == 200
    with Session(engine) as session:
        assert session.get(Payment, payment.id).status == "succeeded"  # type: ignore[union-attr]

    # Refunds made at the provider, not through the market (in Stripe's dashboard), which
    # localstripe holds but never reports: the events are signed here.
    provider = stripe_client(localstripe_url)
    provider.v1.refunds.create({"payment_intent": payment.intent_id or "", "amount": 300})
    charge = {"id": payment.charge_id, "object": "charge", "payment_intent": payment.intent_id}
    partial = event("charge.refunded", {**charge, "amount_refunded": 300}, event_id="evt_r1")
    first = _post(http, *signed(partial))
    replay = _post(http, *signed(partial))
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.json()["outcome"] == "duplicate"
    with Session(engine) as session:
        refunds = session.exec(
            select(LedgerTransaction).where(
                LedgerTransaction.kind == "payment.refunded_at_provider"
            )
        ).all()
        assert len(refunds) == 1
        licence = session.exec(select(Licence).where(Licence.trade_id == payment.trade_id)).one()
        assert licence.revoked_at is None

    provider.v1.refunds.create({"payment_intent": payment.intent_id or "", "amount": 800})
    full = event("charge.refunded", {**charge, "amount_refunded": 1_100}, event_id="evt_r2")
    assert _post(http, *signed(full)).status_code == 200
    with Session(engine) as session:
        assert session.get(Payment, payment.id).refunded_yen == 1_100  # type: ignore[union-attr]
        licence = session.exec(select(Licence).where(Licence.trade_id == payment.trade_id)).one()
        assert licence.revoked_at is not None


def test_a_dispute_opened_at_stripe_is_listed_for_operators(
    http: httpx.Client, localstripe_url: str, engine: Engine, operator_key: str
) -> None:
    payment = _paid(http, localstripe_url, engine)
    dispute = {
        "id": "dp_test_1",
        "object": "dispute",
        "amount": 1_100,
        "charge": payment.charge_id,
        "payment_intent": payment.intent_id,
        "reason": "fraudulent",
        "status": "needs_response",
    }
    opened = event("charge.dispute.created", dispute, event_id="evt_dispute")
    assert _post(http, *signed(opened)).status_code == 200
    listed = http.get("/operator/disputes", headers=auth(operator_key))
    assert listed.status_code == 200
    [row] = listed.json()
    assert (row["payment_id"], row["reason"], row["amount_yen"]) == (
        payment.id,
        "fraudulent",
        1_100,
    )
    assert http.get("/operator/disputes", headers=auth(register(http, "x"))).status_code == 403


def test_without_stripe_the_payment_routes_answer_and_webhooks_are_refused(
    settings: Settings,
) -> None:
    plain = settings.model_copy(update={"stripe_api_key": None, "stripe_webhook_secret": None})
    with TestClient(create_app(plain)) as client:
        engine = db.make_engine(plain.resolved_database_url)
        with db.unit_of_work(engine) as session:
            _, operator = register_participant(session=session, name="Ops", kind="operator")
        engine.dispose()
        buyer = client.post("/participants", json={"name": "Buyer", "kind": "business"})
        key, buyer_id = buyer.json()["api_key"], buyer.json()["participant"]["id"]
        kept = client.put("/me/card", headers=auth(key), json={"payment_method_id": "pm_card_visa"})
        assert kept.status_code == 200 and kept.json() == {
            "payment_method_id": "pm_card_visa",
            "card_payments": False,
        }
        bad = client.put("/me/card", headers=auth(key), json={"payment_method_id": "4242 4242"})
        assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
        assert client.get("/payments", headers=auth(key)).json() == []
        assert client.get("/operator/disputes", headers=auth(operator)).json() == []
        connected = client.put(
            f"/operator/participants/{buyer_id}/connected-account",
            headers=auth(operator),
            json={"account_id": "acct_1Test", "reason": "onboarded at Stripe"},
        )
        assert connected.status_code == 200, connected.text
        body, header = signed(event("payment_intent.succeeded", {"id": "pi_x"}, event_id="e"))
        refused = _post(client, body, header)
        assert refused.status_code == 400 and refused.headers["content-type"] == PROBLEM
