"""Settlement on the embedded default: tax, fees, qualified invoices, refunds, statements,
payouts, the ledger check and reconciliation. Every test runs on SQLite and on PostgreSQL."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from market import db
from market.errors import Conflict, InvalidRequest
from market.events import InProcessBus
from market.models import Invoice, LedgerEntry, OperatorAction, Participant
from market.service import Market
from market.settings import Settings
from market.settlement.check import check_ledger
from market.settlement.invoices import is_overdue, terms_of
from market.settlement.ledger import Posting, post
from market.settlement.statements import JST
from market.settlement.tables import InvoiceRefund, LedgerTransaction
from tests.factories import offer_licences, place_bid, register_buyer, sensor_csv, upload

MARKET_NUMBER = "T7000012050002"  # the National Tax Agency's own corporate number, as an example
SELLER_NUMBER = "T2000012020001"
PURPOSE = "research.academic"


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    configured = settings.model_copy(
        update={
            "market_invoice_registration_number": MARKET_NUMBER,
            "market_legal_name": "市場株式会社",
        }
    )
    with Market(configured, bus=InProcessBus()) as market:
        yield market


@pytest.fixture
def operator(market: Market) -> Participant:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    return operator


def _seller(
    market: Market,
    *,
    kind: str = "business",
    name: str = "東都センサー株式会社",
    number: str | None = None,
    taxable: bool | None = None,
) -> Participant:
    seller, _ = market.accounts.register(name=name, kind=kind)
    if number is not None or taxable is not None:
        seller = market.settlement.set_tax_profile(
            participant=seller,
            taxable_business=True if taxable is None else taxable,
            invoice_registration_number=number,
        )
    return seller


def _list(
    market: Market,
    seller: Participant,
    price: int,
    *,
    category: str = "mobility.traffic",
    rows: int = 5,
    **terms: object,
):  # type: ignore[no-untyped-def]
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(rows),
        title="交通量",
        category=category,
        data_class="non_personal",
    )
    return offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=price,
        licence_count=None,
        allowed_purposes=["research"],
        **terms,
    )


def _buy(market: Market, buyer: Participant, instrument: str, price: int) -> Invoice:
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=instrument,
        max_price_yen=price,
        purpose=PURPOSE,
        time_in_force="IOC",
    )
    [trade] = outcome.trades
    [invoice] = market.find(Invoice, trade_id=trade.id)
    return invoice


def _clean(market: Market) -> None:
    with Session(market.db) as session:
        assert check_ledger(session=session) == []
    assert sum(market.credit.trial_balance().values()) == 0


def test_a_registered_sellers_buyer_gets_a_qualified_invoice_in_the_markets_name(
    market: Market,
) -> None:
    seller = _seller(market, number=SELLER_NUMBER)
    listing = _list(market, seller, 12_345)
    buyer = register_buyer(market)
    invoice = _buy(market, buyer, listing.instrument, 12_345)
    assert invoice.qualified
    assert (invoice.net_yen, invoice.tax_rate_percent, invoice.tax_yen) == (12_345, 10, 1_234)
    assert (invoice.amount_yen, invoice.fee_yen, invoice.fee_tax_yen) == (13_579, 1_234, 123)
    assert invoice.particulars["issuer_name"] == "市場株式会社"
    assert invoice.particulars["issuer_registration_number"] == MARKET_NUMBER
    assert invoice.particulars["seller_registration_number"] == SELLER_NUMBER
    assert invoice.particulars["recipient_name"] == "Buyer"
    assert invoice.due_at is not None and (invoice.due_at - invoice.issued_at).days == 30
    assert not is_overdue(invoice, datetime.now(UTC))
    balances = market.credit.trial_balance()
    assert balances[f"payable:seller:{seller.id}"] == -12_222
    assert balances["tax:consumption_payable"] == -123
    _clean(market)


def test_an_individual_charges_no_tax_and_an_unregistered_seller_issues_no_qualified_invoice(
    market: Market,
) -> None:
    person = _seller(market, kind="individual", name="山田太郎")
    listing = _list(market, person, 5_000)
    buyer = register_buyer(market)
    invoice = _buy(market, buyer, listing.instrument, 5_000)
    assert (invoice.tax_rate_percent, invoice.tax_yen, invoice.amount_yen) == (0, 0, 5_000)
    assert (invoice.fee_yen, invoice.fee_tax_yen) == (500, 50)
    assert not invoice.qualified and invoice.particulars["issuer_registration_number"] is None
    assert "山田" not in str(invoice.particulars)  # a person's name is never shown to buyers
    business = _seller(market, name="Unregistered KK")
    other = _list(market, business, 1_000, category="energy.meter")
    unregistered = _buy(market, register_buyer(market), other.instrument, 1_000)
    assert unregistered.tax_yen == 100 and not unregistered.qualified
    _clean(market)


def test_a_tax_inclusive_listing_is_what_the_buyer_pays(market: Market) -> None:
    seller = _seller(market, number=SELLER_NUMBER)
    listing = _list(market, seller, 1_099, price_includes_tax=True)
    invoice = _buy(market, register_buyer(market), listing.instrument, 1_099)
    assert (invoice.net_yen, invoice.tax_yen, invoice.amount_yen) == (1_000, 99, 1_099)
    assert invoice.price_includes_tax
    _clean(market)


def test_an_operator_sets_an_instruments_fee_and_it_is_audited(
    market: Market, operator: Participant
) -> None:
    seller = _seller(market)
    listing = _list(market, seller, 1_000)
    market.settlement.set_instrument_fees(
        operator=operator,
        instrument=listing.instrument,
        fee_bps=100,
        fee_minimum_yen=300,
        reason="thin book: minimum covers review costs",
    )
    invoice = _buy(market, register_buyer(market), listing.instrument, 1_000)
    assert (invoice.fee_yen, invoice.fee_tax_yen) == (300, 30)  # the minimum, not 1% (10 yen)
    [action] = market.find(OperatorAction, action="instrument.fees_set")
    assert action.target_id == listing.instrument and action.details["to"]["fee_bps"] == 100
    with pytest.raises(InvalidRequest):
        market.settlement.set_instrument_fees(
            operator=operator,
            instrument=listing.instrument,
            fee_bps=100,
            fee_minimum_yen=0,
            reason=" ",
        )
    _clean(market)


def test_a_corporate_number_with_a_wrong_check_digit_is_refused_and_nothing_stored(
    market: Market,
) -> None:
    seller, _ = market.accounts.register(name="KK", kind="business")
    with pytest.raises(InvalidRequest, match="check digit"):
        market.settlement.set_tax_profile(
            participant=seller, taxable_business=True, invoice_registration_number="T8000012050002"
        )
    with pytest.raises(InvalidRequest, match="taxable business"):
        market.settlement.set_tax_profile(
            participant=seller, taxable_business=False, invoice_registration_number=SELLER_NUMBER
        )
    [stored] = market.find(Participant, id=seller.id)
    assert stored.invoice_registration_number is None and stored.taxable_business is None


def test_refunds_book_reversing_entries_and_return_invoices(
    market: Market, operator: Participant
) -> None:
    seller = _seller(market, number=SELLER_NUMBER)
    listing = _list(market, seller, 10_000)
    invoice = _buy(market, register_buyer(market), listing.instrument, 10_000)
    with pytest.raises(Conflict, match="only a paid invoice"):
        market.settlement.refund_invoice(
            operator=operator, invoice_id=invoice.id, amount_yen=1, reason="early"
        )
    market.credit.mark_invoice_paid(
        operator=operator, invoice_id=invoice.id, reference="r", reason="in"
    )
    part = market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice.id, amount_yen=5_500, reason="half the rows bad"
    )
    assert (part.net_yen, part.tax_yen, part.fee_yen, part.fee_tax_yen) == (5_000, 500, 500, 50)
    with pytest.raises(Conflict, match="5,500 yen left"):
        market.settlement.refund_invoice(
            operator=operator, invoice_id=invoice.id, amount_yen=5_501, reason="too much"
        )
    rest = market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice.id, amount_yen=5_500, reason="the rest"
    )
    [after] = market.find(Invoice, id=invoice.id)
    assert after.status == "refunded" and after.refunded_yen == 11_000
    balances = market.credit.trial_balance()
    assert balances[f"payable:seller:{seller.id}"] == 0
    assert balances["revenue:market_fee"] == 0 and balances["tax:consumption_payable"] == 0
    assert balances["cash:bank"] == 0
    assert len(market.find(InvoiceRefund, invoice_id=invoice.id)) == 2
    assert len(market.find(OperatorAction, action="invoice.refunded")) == 2
    buyer = market.find(Participant, id=invoice.buyer_id)[0]
    page = market.settlement.return_invoice_document(viewer=buyer, refund_id=rest.id)
    assert "適格返還請求書" in page and MARKET_NUMBER in page and "¥5,500" in page
    _clean(market)


def test_a_seller_sees_a_monthly_statement_and_a_payout(
    market: Market, operator: Participant
) -> None:
    seller = _seller(market, number=SELLER_NUMBER)
    listing = _list(market, seller, 2_000)
    invoice = _buy(market, register_buyer(market), listing.instrument, 2_000)
    market.credit.mark_invoice_paid(
        operator=operator, invoice_id=invoice.id, reference="r", reason="in"
    )
    owed = market.settlement.record_payout(
        operator=operator, seller_id=seller.id, amount_yen=1_000, reference="MUFG 9", reason="pay"
    )
    assert owed == 2_200 - 200 - 20 - 1_000
    with pytest.raises(Conflict):
        market.settlement.record_payout(
            operator=operator, seller_id=seller.id, amount_yen=owed + 1, reference="x", reason="y"
        )
    month = invoice.issued_at.astimezone(JST).strftime("%Y-%m")
    statement = market.settlement.statement(seller=seller, month=month)
    assert [line["invoice_id"] for line in statement["invoices"]] == [invoice.id]
    assert (statement["sales_yen"], statement["consumption_tax_yen"]) == (2_000, 200)
    assert (statement["fees_yen"], statement["fee_tax_yen"]) == (200, 20)
    assert statement["earned_yen"] == 1_980 and statement["payouts_yen"] == 1_000
    with pytest.raises(InvalidRequest):
        market.settlement.statement(seller=seller, month="2026-13")
    _clean(market)


def test_a_clean_book_reconciles_and_each_kind_of_mismatch_is_named(
    market: Market, operator: Participant
) -> None:
    seller = _seller(market)
    listing = _list(market, seller, 1_000)
    paid = _buy(market, register_buyer(market), listing.instrument, 1_000)
    issued = _buy(market, register_buyer(market), listing.instrument, 1_000)
    refunded = _buy(market, register_buyer(market), listing.instrument, 1_000)
    for invoice in (paid, refunded):
        market.credit.mark_invoice_paid(
            operator=operator, invoice_id=invoice.id, reference="r", reason="i"
        )
    market.settlement.refund_invoice(
        operator=operator, invoice_id=refunded.id, amount_yen=300, reason="partial"
    )
    assert market.settlement.reconcile() == [] and market.settlement.check() == []

    with db.unit_of_work(market.db) as session:
        # missing posting: the issued invoice's issuing transaction vanishes
        header = session.exec(
            select(LedgerTransaction).where(LedgerTransaction.reference_id == issued.id)
        ).one()
        for entry in session.exec(
            select(LedgerEntry).where(LedgerEntry.transaction_id == header.id)
        ):
            session.delete(entry)
        session.delete(header)
        # extra posting: a second payment of the paid invoice
        post(
            session,
            [
                Posting("cash:bank", debit_yen=1_100),
                Posting(f"receivable:buyer:{paid.buyer_id}", credit_yen=1_100),
            ],
            memo="duplicate",
            kind="invoice.paid",
            reference_id=paid.id,
        )
        # amount mismatch: the refund's cash line altered after posting
        refund = session.exec(select(InvoiceRefund)).one()
        refund_id = refund.id
        cash = session.exec(
            select(LedgerEntry).where(
                LedgerEntry.transaction_id == refund.transaction_id,
                LedgerEntry.account == "cash:bank",
            )
        ).one()
        cash.credit_yen = 3_000
        session.add(cash)
        # state mismatch: an invoice marked paid without any payment booked
        row = session.get(Invoice, issued.id)
        assert row is not None
        row.status = "paid"
        session.add(row)
        session.commit()

    kinds = {(m.kind, m.reference) for m in market.settlement.reconcile()}
    assert ("missing_posting", issued.id) in kinds
    assert ("extra_posting", paid.id) in kinds
    assert ("amount_mismatch", refund_id) in kinds
    assert ("state_mismatch", issued.id) in kinds
    problems = market.settlement.check()
    assert any("unbalanced" in p for p in problems)
    assert any("no longer matches its digest" in p for p in problems)


def test_an_entry_changed_after_posting_is_caught_even_when_it_still_balances(
    market: Market,
) -> None:
    seller = _seller(market)
    listing = _list(market, seller, 1_000)
    _buy(market, register_buyer(market), listing.instrument, 1_000)
    with db.unit_of_work(market.db) as session:
        entries = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))).all()
        entries[0].account = "receivable:buyer:someone-else"
        session.add(entries[0])
        changed = entries[0].transaction_id
        session.commit()
    [problem] = [p for p in market.settlement.check() if "digest" in p]
    assert changed in problem


def test_trades_settled_outside_the_order_book_are_invoiced_on_the_markets_terms(
    market: Market,
) -> None:
    # A bank's or a person's decision settles a trade in its own unit of work (market/banks).
    with Session(market.db) as session:
        terms = terms_of(session)
    assert (terms.legal_name, terms.registration_number) == ("市場株式会社", MARKET_NUMBER)
