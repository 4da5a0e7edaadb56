"""Reconciliation against the provider: each kind of mismatch injected on one side (missing,
extra, amount, state, the charge whose answer was lost; a pooled sale's transfer missing,
extra, of another amount or reversed otherwise, or whose answer was lost) is listed; a clean
market lists none.
Through the real SDK on a recording transport; SQLite and PostgreSQL."""

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from market import db
from market.events import InProcessBus
from market.models import Trade
from market.service import Market
from market.settings import Settings
from market.settlement.ledger import trial_balance
from market.settlement.payments.stripe_adapter import StripePayments
from market.settlement.tables import LedgerTransaction, Payment
from tests.factories import offer_licences, place_bid, sensor_csv, upload
from tests.integration.test_stripe_connect import of_trade, pooled_sale, refund_by_operator
from tests.stripe_support import API_KEY, FakeStripe, RecordingHTTPClient

PURPOSE = "research.academic"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def market(settings: Settings, fake: FakeStripe) -> Iterator[Market]:
    configured = settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": "https://api.stripe.test"}
    )
    with Market(configured, bus=InProcessBus()) as market:
        market.settlement.use_provider(
            StripePayments(
                api_key=API_KEY,
                api_base="https://api.stripe.test",
                http_client=RecordingHTTPClient(respond=fake),
            )
        )
        yield market


def _paid_trade(market: Market) -> Payment:
    seller, _ = market.accounts.register(name="Seller KK", kind="business")
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(5),
        title="交通量",
        category="mobility.traffic",
        data_class="non_personal",
    )
    listing = offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=1_000,
        licence_count=None,
        allowed_purposes=["research"],
    )
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    market.settlement.register_card(buyer=buyer, payment_method_id="pm_card_visa")
    place_bid(
        market,
        buyer=buyer,
        instrument=listing.instrument,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=dataset.id,
    )
    market.settlement.run_payments()
    with Session(market.db) as session:
        return session.exec(select(Payment)).one()


def _kinds(market: Market) -> list[tuple[str, str]]:
    return [(m.kind, m.reference) for m in market.settlement.reconcile()]


def test_a_clean_market_reconciles_with_the_provider(market: Market) -> None:
    _paid_trade(market)
    assert _kinds(market) == []


def test_a_payment_intent_the_provider_does_not_have_is_missing(
    market: Market, fake: FakeStripe
) -> None:
    payment = _paid_trade(market)
    del fake.intents[payment.intent_id or ""]
    assert _kinds(market) == [("missing_charge", payment.id)]


def test_money_taken_for_a_payment_the_market_does_not_know_is_extra(
    market: Market, fake: FakeStripe
) -> None:
    _paid_trade(market)
    stray = {**next(iter(fake.intents.values())), "id": "pi_stray", "metadata": {"payment_id": "x"}}
    fake.intents["pi_stray"] = stray
    assert _kinds(market) == [("extra_charge", "pi_stray")]


def test_captured_and_refunded_amounts_that_differ_are_amount_mismatches(
    market: Market, fake: FakeStripe
) -> None:
    payment = _paid_trade(market)
    intent = fake.intents[payment.intent_id or ""]
    intent["received"] -= 1
    intent["refunded"] = 100  # refunded in Stripe's dashboard, never reported
    assert _kinds(market) == [("amount_mismatch", payment.id), ("amount_mismatch", payment.id)]


def test_paid_on_one_side_only_is_a_state_mismatch(market: Market, fake: FakeStripe) -> None:
    payment = _paid_trade(market)
    fake.intents[payment.intent_id or ""]["status"] = "canceled"
    assert _kinds(market) == [("state_mismatch", payment.id)]
    fake.intents[payment.intent_id or ""]["status"] = "succeeded"
    with db.unit_of_work(market.db) as session:
        session.execute(
            update(Payment).where(col(Payment.id) == payment.id).values(status="authorized")
        )
    assert ("state_mismatch", payment.id) in _kinds(market)


def test_a_charge_whose_answer_was_lost_is_listed_until_the_next_run_settles_it(
    market: Market, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/confirm", "lost"))
    payment = _paid_trade(market)
    assert payment.status == "created"
    assert _kinds(market) == [("lost_response", payment.id)]
    market.settlement.run_payments()
    assert _kinds(market) == []


def test_the_providers_processing_fee_is_booked_once_from_its_balance_transaction(
    market: Market, fake: FakeStripe
) -> None:
    payment = _paid_trade(market)
    market.settlement.run_payments()  # a second run books nothing more
    assert fake.fee_of(payment.intent_id or "") == 40  # 3.6% of 1,100 yen
    with Session(market.db) as session:
        booked = session.get(Payment, payment.id)
        fees = session.exec(
            select(LedgerTransaction).where(LedgerTransaction.kind == "payment.provider_fee")
        ).all()
        balances = trial_balance(session=session)
    assert booked is not None and booked.provider_fee_yen == 40
    assert [f.reference_id for f in fees] == [payment.id]
    assert balances["expense:provider_fees"] == 40
    # The buyer's 1,100 yen, less the fee the provider keeps, is what it pays out.
    assert balances["clearing:payments"] == 1_100 - 40
    assert market.settlement.check() == []
    assert _kinds(market) == []


def test_a_fee_that_differs_from_the_balance_transaction_or_the_ledger_is_an_amount_mismatch(
    market: Market, fake: FakeStripe
) -> None:
    payment = _paid_trade(market)
    fake.fees[payment.intent_id or ""] = 41
    assert _kinds(market) == [("amount_mismatch", payment.id)]
    fake.fees.clear()
    with db.unit_of_work(market.db) as session:
        session.execute(
            update(Payment).where(col(Payment.id) == payment.id).values(provider_fee_yen=39)
        )
    # The ledger's 40 yen against the record's 39, and the provider's 40 against the record's.
    assert _kinds(market) == [("amount_mismatch", payment.id), ("amount_mismatch", payment.id)]
    assert any("provider fee" in problem for problem in market.settlement.check())


def test_a_fee_not_yet_known_is_booked_by_a_later_run(market: Market, fake: FakeStripe) -> None:
    fake.balance_pending = True
    payment = _paid_trade(market)
    with Session(market.db) as session:
        assert session.get(Payment, payment.id).provider_fee_yen is None  # type: ignore[union-attr]
    fake.balance_pending = False
    assert _kinds(market) == [("amount_mismatch", payment.id)]  # not booked yet
    market.settlement.run_payments()
    with Session(market.db) as session:
        assert session.get(Payment, payment.id).provider_fee_yen == 40  # type: ignore[union-attr]
    assert _kinds(market) == []


# Transfers of a bank's pooled sale (separate charges and transfers) and their reversals.


def _transferred(market: Market) -> tuple[Payment, Trade]:
    """A pooled sale charged, its share transferred, and a third of it refunded (reversed)."""
    _, trade = pooled_sale(market)
    _, invoice = of_trade(market, trade)
    refund_by_operator(market, invoice, invoice.amount_yen // 3)
    payment, _ = of_trade(market, trade)
    return payment, trade


def test_a_pooled_sale_whose_transfer_and_reversal_match_the_ledger_reconciles(
    market: Market, fake: FakeStripe
) -> None:
    payment, _ = _transferred(market)
    [transfer] = fake.transfers
    assert payment.transfer_id == transfer["id"]
    assert 0 < transfer["amount_reversed"] < transfer["amount"]
    assert _kinds(market) == []


def test_a_transfer_the_provider_does_not_have_is_missing(market: Market, fake: FakeStripe) -> None:
    payment, _ = _transferred(market)
    fake.transfers.clear()
    assert _kinds(market) == [("missing_transfer", payment.id)]


def test_a_transfer_in_the_sales_group_the_ledger_does_not_know_is_extra(
    market: Market, fake: FakeStripe
) -> None:
    _transferred(market)
    stray = {**fake.transfers[0], "id": "tr_stray", "amount_reversed": 0}
    fake.transfers.append(stray)
    assert _kinds(market) == [("extra_transfer", "tr_stray")]


def test_transferred_and_reversed_amounts_that_differ_are_amount_mismatches(
    market: Market, fake: FakeStripe
) -> None:
    payment, _ = _transferred(market)
    fake.transfers[0]["amount"] += 1
    assert _kinds(market) == [("amount_mismatch", payment.id)]
    fake.transfers[0]["amount"] -= 1
    fake.transfers[0]["amount_reversed"] += 5  # reversed in Stripe's dashboard
    assert _kinds(market) == [("amount_mismatch", payment.id)]
    fake.transfers[0]["amount_reversed"] -= 10  # a reversal the market was told of, missing
    assert _kinds(market) == [("amount_mismatch", payment.id)]


def test_a_transfer_or_reversal_whose_answer_was_lost_is_listed_until_the_next_run(
    market: Market, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/v1/transfers", "lost"))
    _, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    assert payment.transfer_id is None
    assert _kinds(market) == [("lost_response", payment.id)]
    market.settlement.run_payments()
    assert _kinds(market) == []

    fake.faults.append(("POST", "/reversals", "lost"))
    refund_by_operator(market, invoice, invoice.amount_yen)
    assert _kinds(market) == [("lost_response", payment.id)]
    market.settlement.run_payments()
    assert _kinds(market) == []
    assert fake.transfers[0]["amount_reversed"] == fake.transfers[0]["amount"]
