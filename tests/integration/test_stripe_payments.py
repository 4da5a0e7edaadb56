"""Card payments against localstripe (a real Stripe-API server): customers, cards, PaymentIntents
charged at once or held and captured on fill, holds released on cancel, declines and their
deadline, full and partial refunds. Each test ends with the ledger check and reconciliation
against the provider clean. SQLite and PostgreSQL."""

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlmodel import Session, select

from market.errors import CreditLimitExceeded
from market.events import InProcessBus
from market.models import Invoice, Licence, Listing, Participant, utcnow
from market.service import Market
from market.settings import Settings
from market.settlement.ledger import trial_balance
from market.settlement.payments.booking import CardRefused, PaymentPending
from market.settlement.tables import Payment, PaymentAccount, PaymentAttempt
from market.trading import TradingService
from tests.factories import offer_licences, place_bid, sensor_csv, upload
from tests.stripe_support import (
    API_KEY,
    DECLINED_ON_CHARGE,
    WEBHOOK_SECRET,
    card,
    stripe_client,
)

# localstripe_server and localstripe_url
pytest_plugins = ["tests.stripe_support"]
T = TypeVar("T")
PURPOSE = "research.academic"
INSTRUMENT = "mobility.traffic/non_personal"


@pytest.fixture
def market(settings: Settings, localstripe_url: str) -> Iterator[Market]:
    configured = settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_api_base": localstripe_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
        }
    )
    with Market(configured, bus=InProcessBus()) as market:
        yield market


def _listing(
    market: Market, *, price: int = 1_000, count: int | None = None, inclusive: bool = False
) -> Listing:
    seller, _ = market.accounts.register(name="東都センサー株式会社", kind="business")
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(5),
        title="交通量",
        category="mobility.traffic",
        data_class="non_personal",
    )
    return offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=price,
        licence_count=count,
        allowed_purposes=["research"],
        price_includes_tax=inclusive,
    )


def _card_buyer(market: Market, url: str, number: str = "4242424242424242") -> Participant:
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    market.settlement.register_card(buyer=buyer, payment_method_id=card(url, number))
    return buyer


def _payments(market: Market) -> list[Payment]:
    with Session(market.db) as session:
        return list(session.exec(select(Payment).order_by(Payment.created_at)))  # type: ignore[arg-type]


def _one(market: Market, model: type[T], **equals: Any) -> T:
    rows = market.find(model, **equals)
    assert len(rows) == 1, rows
    return rows[0]


def _clean(market: Market) -> None:
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_buyer_without_credit_pays_by_card_and_receives_data_only_after_payment(
    market: Market, localstripe_url: str
) -> None:
    listing = _listing(market)
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    with pytest.raises(CreditLimitExceeded):
        place_bid(market, buyer=buyer, instrument=INSTRUMENT, max_price_yen=1_000, purpose=PURPOSE)
    market.settlement.register_card(buyer=buyer, payment_method_id=card(localstripe_url))

    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    [trade] = outcome.trades
    licence = _one(market, Licence, trade_id=trade.id)
    with pytest.raises(PaymentPending, match="payment succeeds"):
        market.delivery.download_url(buyer=buyer, licence_id=licence.id)

    assert market.settlement.run_payments() == 0
    [payment] = _payments(market)
    invoice = _one(market, Invoice, trade_id=trade.id)
    assert (payment.status, payment.capture_method) == ("succeeded", "automatic")
    assert payment.capture_yen == invoice.amount_yen == 1_100
    assert invoice.status == "paid"
    intent = stripe_client(localstripe_url).v1.payment_intents.retrieve(payment.intent_id or "")
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 1_100, "jpy")
    # localstripe's balance transactions carry a fee of 0: known, recorded, nothing to book.
    assert payment.provider_fee_yen == 0
    assert market.delivery.download_url(buyer=buyer, licence_id=licence.id).token
    _clean(market)


def test_a_resting_card_bid_is_held_then_captured_on_fill_for_the_trade_price(
    market: Market, localstripe_url: str
) -> None:
    _listing(market, price=9_000)  # the instrument exists, above the bid
    buyer = _card_buyer(market, localstripe_url)
    place_bid(market, buyer=buyer, instrument=INSTRUMENT, max_price_yen=2_000, purpose=PURPOSE)
    market.settlement.run_payments()
    [hold] = _payments(market)
    assert (hold.status, hold.amount_yen) == ("authorized", 2_200)
    intent = stripe_client(localstripe_url).v1.payment_intents.retrieve(hold.intent_id or "")
    assert (intent.status, intent.capture_method) == ("requires_capture", "manual")

    # The resting bid sets the price; a tax-inclusive listing makes the trade cost less than
    # the hold, so the capture is partial and the rest is released.
    _listing(market, price=1_500, inclusive=True)
    market.settlement.run_payments()
    [captured] = _payments(market)
    assert (captured.status, captured.capture_yen) == ("succeeded", 2_000)
    with Session(market.db) as session:
        operations = [
            (a.operation, a.attempt, a.status)
            for a in session.exec(select(PaymentAttempt).order_by(PaymentAttempt.created_at))  # type: ignore[arg-type]
        ]
    assert operations == [
        ("create", 1, "succeeded"),
        ("confirm", 1, "succeeded"),
        ("capture", 1, "succeeded"),
    ]
    _clean(market)


def test_cancelling_a_card_bid_releases_its_hold(market: Market, localstripe_url: str) -> None:
    _listing(market, price=9_000)
    buyer = _card_buyer(market, localstripe_url)
    outcome = place_bid(
        market, buyer=buyer, instrument=INSTRUMENT, max_price_yen=800, purpose=PURPOSE
    )
    market.settlement.run_payments()
    market.orders.cancel_bid(buyer=buyer, bid_id=outcome.bid.id)
    market.settlement.run_payments()
    [hold] = _payments(market)
    assert hold.status == "cancelled"
    intent = stripe_client(localstripe_url).v1.payment_intents.retrieve(hold.intent_id or "")
    assert intent.status == "canceled"
    _clean(market)


def test_a_declined_card_tells_the_buyer_why_and_the_trade_fails_after_the_deadline(
    market: Market, localstripe_url: str
) -> None:
    listing = _listing(market, count=3)
    buyer = _card_buyer(market, localstripe_url, DECLINED_ON_CHARGE)
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    [trade] = outcome.trades
    market.settlement.run_payments()
    [payment] = _payments(market)
    assert payment.status == "failed"
    assert "declined" in (payment.failure_reason or "")
    assert payment.deadline_at is not None
    licence = _one(market, Licence, trade_id=trade.id)
    with pytest.raises(PaymentPending, match="declined"):
        market.delivery.download_url(buyer=buyer, licence_id=licence.id)
    _clean(market)

    market.settlement.payments.now = lambda: utcnow() + timedelta(hours=73)
    market.settlement.run_payments()
    [payment] = _payments(market)
    assert payment.status == "expired"
    assert _one(market, Licence, trade_id=trade.id).revoked_at is not None
    assert _one(market, Invoice, trade_id=trade.id).status == "cancelled"
    assert _one(market, Listing, id=listing.id).licences_sold == 0
    with Session(market.db) as session:
        assert trial_balance(session=session).get(f"receivable:buyer:{buyer.id}", 0) == 0
    _clean(market)


@pytest.mark.parametrize("count", [1, 3])
def test_licences_of_a_trade_failed_unpaid_go_back_to_the_order_book_even_from_a_sold_out_listing(
    market: Market, localstripe_url: str, count: int
) -> None:
    listing = _listing(market, count=count)
    buyer = _card_buyer(market, localstripe_url, DECLINED_ON_CHARGE)
    place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    market.settlement.run_payments()
    assert _one(market, Listing, id=listing.id).status == ("sold_out" if count == 1 else "open")

    market.settlement.payments.now = lambda: utcnow() + timedelta(hours=73)
    market.settlement.run_payments()
    restored = _one(market, Listing, id=listing.id)
    assert (restored.status, restored.licences_sold) == ("open", 0)
    # The order book holds every licence again, and its journal says so on a replay.
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()
    for i in range(count):
        invoiced, _ = market.accounts.register(
            name=f"Buyer {i}", kind="business", credit_limit_yen=100_000
        )
        bought = place_bid(
            market,
            buyer=invoiced,
            instrument=INSTRUMENT,
            max_price_yen=1_000,
            purpose=PURPOSE,
            dataset_id=listing.dataset_id,
            time_in_force="IOC",
        )
        assert [t.listing_id for t in bought.trades] == [listing.id]
    assert _one(market, Listing, id=listing.id).status == "sold_out"
    _clean(market)


def test_a_new_card_retries_a_declined_payment_within_its_deadline(
    market: Market, localstripe_url: str
) -> None:
    listing = _listing(market)
    buyer = _card_buyer(market, localstripe_url, DECLINED_ON_CHARGE)
    place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    market.settlement.run_payments()
    market.settlement.register_card(buyer=buyer, payment_method_id=card(localstripe_url))
    [payment] = _payments(market)
    assert payment.status == "succeeded"
    with Session(market.db) as session:
        creates = session.exec(
            select(PaymentAttempt.attempt).where(PaymentAttempt.operation == "create")
        ).all()
    assert sorted(creates) == [1, 2]
    _clean(market)


def test_full_and_partial_refunds_go_to_the_card_and_only_a_full_one_revokes_the_licence(
    market: Market, localstripe_url: str
) -> None:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    listing = _listing(market)
    buyer = _card_buyer(market, localstripe_url)
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    [trade] = outcome.trades
    market.settlement.run_payments()
    invoice = _one(market, Invoice, trade_id=trade.id)

    market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice.id, amount_yen=300, reason="partly unusable"
    )
    assert _one(market, Licence, trade_id=trade.id).revoked_at is None
    _clean(market)
    market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice.id, amount_yen=800, reason="withdrawn"
    )
    assert _one(market, Licence, trade_id=trade.id).revoked_at is not None
    [payment] = _payments(market)
    assert payment.refunded_yen == 1_100
    refunds = stripe_client(localstripe_url).v1.refunds.list(
        {"payment_intent": payment.intent_id or ""}
    )
    assert sorted(r.amount for r in refunds.data) == [300, 800]
    _clean(market)


def test_the_reconcile_command_compares_with_localstripe_and_exits_1_on_a_mismatch(
    market: Market, localstripe_url: str
) -> None:
    listing = _listing(market)
    buyer = _card_buyer(market, localstripe_url)
    place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    market.settlement.run_payments()
    env = {
        **os.environ,
        "DATAMARKET_DATABASE_URL": market.settings.resolved_database_url,
        "DATAMARKET_STRIPE_API_KEY": API_KEY,
        "DATAMARKET_STRIPE_API_BASE": localstripe_url,
    }
    command = [sys.executable, "-m", "datamarket", "settlement", "reconcile"]
    clean = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert (clean.returncode, clean.stdout.strip()) == (0, "0 mismatches"), clean.stderr
    [payment] = _payments(market)
    stripe_client(localstripe_url).v1.refunds.create(
        {
            "payment_intent": payment.intent_id or "",
            "amount": 100,
            "metadata": {"market_refund": "x"},
        }
    )
    found = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 1
    assert f"amount_mismatch: {payment.id}: refunded 100 yen at the provider" in found.stdout
    assert found.stdout.strip().endswith("1 mismatches")


def test_a_card_the_provider_refuses_is_refused_and_not_kept(
    market: Market, localstripe_url: str
) -> None:
    _listing(market, price=9_000)
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    declined_on_attach = card(localstripe_url, "4000000000000002")
    with pytest.raises(CardRefused, match="declined"):
        market.settlement.register_card(buyer=buyer, payment_method_id=declined_on_attach)
    with Session(market.db) as session:
        assert session.get(PaymentAccount, buyer.id) is None
    with pytest.raises(CreditLimitExceeded):
        place_bid(market, buyer=buyer, instrument=INSTRUMENT, max_price_yen=1_000, purpose=PURPOSE)
