"""Failure injection under the real SDK: the provider times out, errors, or accepts a call whose
answer never arrives (create, confirm, capture). A retry reuses the attempt's idempotency key,
asks the provider first when the call may have acted, and settles exactly once; nothing is
delivered unpaid meanwhile. SQLite and PostgreSQL."""

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from market.models import Licence, Listing, Participant
from market.service import Market
from market.settings import Settings
from market.settlement.payments.booking import PaymentPending
from market.settlement.tables import LedgerTransaction, Payment, PaymentAttempt
from tests.factories import offer_licences, place_bid, sensor_csv, upload
from tests.stripe_support import (
    FakeStripe,
    Recorded,
    RecordingHTTPClient,
    event,
    market_on_recorder,
    signed,
)

PURPOSE = "research.academic"
INSTRUMENT = "mobility.traffic/non_personal"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def recorder(fake: FakeStripe) -> RecordingHTTPClient:
    return RecordingHTTPClient(respond=fake)


@pytest.fixture
def market(settings: Settings, recorder: RecordingHTTPClient) -> Iterator[Market]:
    with market_on_recorder(settings, recorder, webhooks=True) as market:
        yield market


def _buy(market: Market, *, resting: bool = False) -> tuple[Participant, str]:
    """A card buyer's trade (or, resting, a held bid and then its fill); returns the buyer and
    the trade's licence id."""
    seller, _ = market.accounts.register(name="Seller KK", kind="business")
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(5),
        title="交通量",
        category="mobility.traffic",
        data_class="non_personal",
    )
    listing: Listing = offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=3_000 if resting else 1_000,
        licence_count=None,
        allowed_purposes=["research"],
    )
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    market.settlement.register_card(buyer=buyer, payment_method_id="pm_card_visa")
    place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    if resting:
        market.settlement.run_payments()
        market.orders.amend_listing(seller=seller, listing_id=listing.id, price_yen=1_000)
    [licence] = market.find(Licence, buyer_id=buyer.id)
    return buyer, licence.id


def _posts(recorder: RecordingHTTPClient, suffix: str) -> list[Recorded]:
    return [r for r in recorder.requests if r.method == "POST" and r.path.endswith(suffix)]


def _settled_once(market: Market) -> Payment:
    with Session(market.db) as session:
        payment = session.exec(select(Payment)).one()
        paid = session.exec(
            select(LedgerTransaction).where(
                LedgerTransaction.kind == "invoice.paid",
                LedgerTransaction.reference_id == payment.invoice_id,
            )
        ).all()
    assert payment.status == "succeeded"
    assert len(paid) == 1
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
    return payment


def test_a_confirm_the_provider_took_but_never_answered_settles_once_without_resending(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/confirm", "lost"))
    buyer, licence_id = _buy(market)
    assert market.settlement.run_payments() == 1  # one call waits for its answer
    with pytest.raises(PaymentPending):
        market.delivery.download_url(buyer=buyer, licence_id=licence_id)
    kinds = [m.kind for m in market.settlement.reconcile()]
    assert kinds == ["lost_response"]

    assert market.settlement.run_payments() == 0
    assert len(_posts(recorder, "/confirm")) == 1  # asked, not resent
    _settled_once(market)
    assert market.delivery.download_url(buyer=buyer, licence_id=licence_id).token


def test_a_timeout_before_the_provider_acted_resends_the_same_key(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/confirm", "timeout"))
    _buy(market)
    market.settlement.run_payments()
    market.settlement.run_payments()
    confirms = _posts(recorder, "/confirm")
    assert len(confirms) == 2
    assert confirms[0].idempotency_key == confirms[1].idempotency_key
    assert confirms[0].idempotency_key.endswith("_confirm_1")  # type: ignore[union-attr]
    _settled_once(market)


@pytest.mark.parametrize("fault", ["lost", "error", "timeout"])
def test_a_create_without_an_answer_makes_one_payment_intent(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, fault: str
) -> None:
    fake.faults.append(("POST", "/v1/payment_intents", fault))
    _buy(market)
    market.settlement.run_payments()
    market.settlement.run_payments()
    creates = _posts(recorder, "/v1/payment_intents")
    assert len(creates) == 2 and len({c.idempotency_key for c in creates}) == 1
    assert len(fake.intents) == 1
    _settled_once(market)


def test_a_capture_accepted_without_an_answer_is_settled_once(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/capture", "lost"))
    _buy(market, resting=True)
    assert market.settlement.run_payments() == 1
    assert market.settlement.run_payments() == 0
    assert len(_posts(recorder, "/capture")) == 1
    with Session(market.db) as session:
        attempts = session.exec(
            select(PaymentAttempt).where(PaymentAttempt.operation == "capture")
        ).all()
    assert [(a.attempt, a.status) for a in attempts] == [(1, "succeeded")]
    _settled_once(market)


def test_the_success_webhook_racing_a_lost_answer_books_the_payment_once(
    market: Market, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/confirm", "lost"))
    _buy(market)
    market.settlement.run_payments()
    [intent] = fake.intents.values()
    with Session(market.db) as session:
        payment = session.exec(select(Payment)).one()
    succeeded = event(
        "payment_intent.succeeded",
        {
            "id": intent["id"],
            "object": "payment_intent",
            "status": "succeeded",
            "amount": intent["amount"],
            "amount_received": intent["amount"],
            "metadata": {"payment_id": payment.id},
        },
        event_id="evt_race",
    )
    body, header = signed(succeeded)
    market.settlement.handle_webhook(payload=body, signature=header)
    market.settlement.run_payments()
    _settled_once(market)


def test_a_declined_card_is_a_definite_failure_and_the_next_attempt_has_a_new_key(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.decline = True
    buyer, licence_id = _buy(market)
    market.settlement.run_payments()
    with Session(market.db) as session:
        payment = session.exec(select(Payment)).one()
    assert payment.status == "failed" and "insufficient_funds" in (payment.failure_reason or "")
    with pytest.raises(PaymentPending, match="insufficient_funds"):
        market.delivery.download_url(buyer=buyer, licence_id=licence_id)
    fake.decline = False
    market.settlement.register_card(buyer=buyer, payment_method_id="pm_card_mastercard")
    keys = [r.idempotency_key for r in _posts(recorder, "/v1/payment_intents")]
    assert [k.rsplit("_", 1)[1] for k in keys] == ["1", "2"]  # type: ignore[union-attr]
    _settled_once(market)


def test_a_refund_at_the_provider_while_the_markets_own_refund_is_unanswered_is_booked_once(
    market: Market, fake: FakeStripe
) -> None:
    """The provider's refunded total counts only the market's refunds that reached it: one the
    market booked but whose call has not gone through must not hide a dashboard refund."""
    _buy(market)
    market.settlement.run_payments()
    payment = _settled_once(market)
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    fake.faults.append(("POST", "/v1/refunds", "timeout"))
    market.settlement.refund_invoice(
        operator=operator, invoice_id=payment.invoice_id or "", amount_yen=500, reason="r"
    )
    intent = fake.intents[payment.intent_id or ""]
    fake.refund_elsewhere(intent["id"], 2)  # made in Stripe's dashboard
    refunded = event(
        "charge.refunded",
        {
            "id": intent["charge"],
            "object": "charge",
            "payment_intent": intent["id"],
            "amount_refunded": intent["refunded"],
        },
        event_id="evt_dashboard_refund",
    )
    body, header = signed(refunded)
    market.settlement.handle_webhook(payload=body, signature=header)
    assert market.settlement.run_payments() == 0  # the market's refund is resent and answered
    with Session(market.db) as session:
        booked = session.get(Payment, payment.id)
    assert booked is not None
    assert booked.refunded_yen == fake.intents[intent["id"]]["refunded"] == 502
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
