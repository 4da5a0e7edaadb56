"""Booking a trade through prepared statements (issue 14): each trade reads its instrument's fees,
its seller's tax profile and its dataset's current revision as they stand in its own transaction,
never a value bound by an earlier trade; and it writes its rows in the order it always did.
Every test runs on SQLite and on PostgreSQL."""

from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from market.events import InProcessBus
from market.models import Invoice, LedgerEntry, Licence, OutboxEvent, Participant, Trade
from market.service import Market
from market.settings import Settings
from market.settlement.check import check_ledger
from market.settlement.tables import LedgerTransaction
from tests.factories import offer_licences, place_bid, register_buyer, sensor_csv, upload

INSTRUMENT = "mobility.traffic/non_personal"
PURPOSE = "research.academic"
SELLER_NUMBER = "T2000012020001"


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    configured = settings.model_copy(
        update={"market_invoice_registration_number": "T7000012050002", "market_fee_bps": 500}
    )
    with Market(configured, bus=InProcessBus()) as market:
        yield market


@pytest.fixture
def operator(market: Market) -> Participant:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    return operator


def _list(market: Market, seller: Participant, *, rows: int = 5) -> str:
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(rows),
        title="交通量",
        category="mobility.traffic",
        data_class="non_personal",
    )
    offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=10_000,
        licence_count=None,
        allowed_purposes=["research"],
    )
    return dataset.id


def _buy(market: Market, dataset_id: str | None = None) -> Trade:
    outcome = place_bid(
        market,
        buyer=register_buyer(market),
        instrument=INSTRUMENT,
        max_price_yen=10_000,
        purpose=PURPOSE,
        time_in_force="IOC",
        dataset_id=dataset_id,
    )
    [trade] = outcome.trades
    return trade


def _invoice(market: Market, trade: Trade) -> Invoice:
    [invoice] = market.find(Invoice, trade_id=trade.id)
    return invoice


def test_a_trade_after_an_instruments_fee_changes_books_the_new_fee(
    market: Market, operator: Participant
) -> None:
    seller, _ = market.accounts.register(name="Seller", kind="business")
    _list(market, seller)
    first = _invoice(market, _buy(market))
    assert (first.fee_yen, first.particulars["fee_bps"]) == (500, 500)  # the market's rate
    for fee_bps, minimum, expected in ((100, 0, 100), (100, 300, 300), (0, 0, 0)):
        market.settlement.set_instrument_fees(
            operator=operator,
            instrument=INSTRUMENT,
            fee_bps=fee_bps,
            fee_minimum_yen=minimum,
            reason="fee review",
        )
        invoice = _invoice(market, _buy(market))
        assert invoice.fee_yen == expected
        assert invoice.fee_tax_yen == expected // 10
        assert invoice.particulars["fee_bps"] == fee_bps
        assert invoice.particulars["fee_minimum_yen"] == minimum
    with Session(market.db) as session:
        assert check_ledger(session=session) == []


def test_a_trade_after_the_sellers_registration_is_invoiced_as_registered(
    market: Market,
) -> None:
    seller, _ = market.accounts.register(name="東都センサー株式会社", kind="business")
    _list(market, seller)
    before = _invoice(market, _buy(market))
    assert not before.qualified and before.particulars["seller_registration_number"] is None
    market.settlement.set_tax_profile(
        participant=seller, taxable_business=True, invoice_registration_number=SELLER_NUMBER
    )
    after = _invoice(market, _buy(market))
    assert after.qualified
    assert after.particulars["seller_registration_number"] == SELLER_NUMBER
    assert after.particulars["seller_name"] == "東都センサー株式会社"


def test_a_trade_after_a_new_revision_licenses_that_revision(market: Market) -> None:
    seller, _ = market.accounts.register(name="Seller", kind="business")
    dataset_id = _list(market, seller, rows=30)
    first = _buy(market, dataset_id)
    market.revisions.publish(
        seller=seller,
        dataset_id=dataset_id,
        raw=sensor_csv(30, columns=("sensor_id", "reading", "status")),
    )
    second = _buy(market, dataset_id)
    [old] = market.find(Licence, trade_id=first.id)
    [new] = market.find(Licence, trade_id=second.id)
    assert (old.revision, new.revision) == (1, 2)


def test_a_trade_writes_its_invoice_postings_and_events_in_order(market: Market) -> None:
    seller, _ = market.accounts.register(name="Seller", kind="business")
    _list(market, seller)
    trade = _buy(market)
    invoice = _invoice(market, trade)
    with Session(market.db) as session:
        [header] = session.exec(
            select(LedgerTransaction).where(LedgerTransaction.reference_id == invoice.id)
        ).all()
        lines = session.exec(
            select(LedgerEntry)
            .where(LedgerEntry.transaction_id == header.id)
            .order_by(col(LedgerEntry.id))
        ).all()
        events = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all()
    assert header.kind == "invoice.issued"
    assert [(e.account, e.debit_yen, e.credit_yen) for e in lines] == [
        (f"receivable:buyer:{trade.buyer_id}", invoice.amount_yen, 0),
        (
            f"payable:seller:{seller.id}",
            0,
            invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen,
        ),
        ("revenue:market_fee", 0, invoice.fee_yen),
        ("tax:consumption_payable", 0, invoice.fee_tax_yen),
    ]
    booked = [e for e in events if e.payload.get("trade_id") == trade.id]
    assert [e.type for e in booked] == ["InvoiceIssued", "TradeExecuted"]
    assert booked[0].payload["invoice_id"] == invoice.id
