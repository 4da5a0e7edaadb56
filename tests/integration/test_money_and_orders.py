"""Money and order rules the first market broke (issue 8): each test failed on that code.

Every test runs on SQLite and on PostgreSQL.
"""

import re
import threading
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from market.errors import Conflict, CreditLimitExceeded, InvalidRequest, NotFound
from market.events import InProcessBus
from market.models import Bid, Invoice, LedgerEntry, Licence, Listing, OperatorAction, Trade
from market.service import Market
from market.settings import Settings
from market.trading.instruments import UnknownInstrument
from market.trading.licensing import DuplicateLicence, ExclusivityConflict, RedistributionForbidden
from tests.factories import (
    list_sensor_dataset,
    offer_licences,
    place_bid,
    register_buyer,
    sensor_csv,
    upload,
)

PURPOSE = "research.academic"


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    with Market(settings, bus=InProcessBus()) as market:
        yield market


@pytest.fixture
def operator(market: Market):  # type: ignore[no-untyped-def]
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    return operator


def _bid(market: Market, buyer, instrument: str, price: int, **terms):  # type: ignore[no-untyped-def]
    return place_bid(
        market, buyer=buyer, instrument=instrument, max_price_yen=price, purpose=PURPOSE, **terms
    )


def _count(market: Market, model: type) -> int:
    with Session(market.db) as session:
        return len(session.exec(select(model)).all())


# Item 4: an invoice is paid once, however many operators press the button at once.
def test_concurrent_payments_of_one_invoice_book_the_cash_once(market: Market, operator) -> None:  # type: ignore[no-untyped-def]
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    invoices = []
    for _ in range(6):
        buyer = register_buyer(market)
        _bid(market, buyer, listing.instrument, 1_000)
    invoices = [i.id for i in market.find(Invoice, status="issued")]
    assert len(invoices) == 6
    results: list[str] = []

    def pay(invoice_id: str) -> None:
        try:
            market.credit.mark_invoice_paid(
                operator=operator, invoice_id=invoice_id, reference="r", reason="transfer"
            )
            results.append("paid")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=pay, args=(i,)) for i in invoices for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 6 + ["paid"] * 6
    # Each invoice is 1,000 yen plus 10% consumption tax (the seller is a taxable business).
    assert market.credit.trial_balance()["cash:bank"] == 6_600
    with Session(market.db) as session:
        payments = session.exec(
            select(LedgerEntry).where(col(LedgerEntry.memo).startswith("payment of invoice"))
        ).all()
        audit = session.exec(
            select(OperatorAction).where(OperatorAction.action == "invoice.marked_paid")
        ).all()
    assert len(payments) == 12  # two postings per payment, six payments
    assert len(audit) == 6


# Item 5: resting bids reserve their worst-case cost against the buyer's credit.
def test_resting_bids_reserve_credit_until_filled_or_cancelled(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=5_000)
    buyer = register_buyer(market, credit_limit_yen=11_000)
    resting = _bid(market, buyer, listing.instrument, 2_000, quantity=5)  # below the ask: rests
    assert resting.trades == [] and resting.bid.status == "open"
    # The worst case: 5 licences at 2,000 yen and their 10% consumption tax.
    assert market.credit.standing(buyer)["reserved_by_open_bids_yen"] == 11_000
    with pytest.raises(CreditLimitExceeded):
        _bid(market, buyer, listing.instrument, 1)
    assert _count(market, Bid) == 1  # the refused bid stored nothing
    market.orders.cancel_bid(buyer=buyer, bid_id=resting.bid.id)
    assert market.credit.standing(buyer)["available_yen"] == 11_000
    filled = _bid(market, buyer, listing.instrument, 6_000)
    assert [t.price_yen for t in filled.trades] == [5_000]
    standing = market.credit.standing(buyer)
    assert standing["reserved_by_open_bids_yen"] == 0
    # The invoice owes the trade price plus 10% consumption tax.
    assert standing["unpaid_invoices_yen"] == 5_500 and standing["available_yen"] == 5_500


def test_many_resting_bids_never_owe_more_than_the_limit(market: Market) -> None:
    seller, _, listing = list_sensor_dataset(market, price_yen=10_000, licence_count=None)
    buyer = register_buyer(market, credit_limit_yen=10_000)
    refused = 0
    for _ in range(10):
        try:
            _bid(market, buyer, listing.instrument, 9_000)
        except CreditLimitExceeded:
            refused += 1
    assert refused == 9  # one bid reserves 9,900 (9,000 and its tax) of the 10,000
    # A seller lowering the price fills the resting bid; the buyer owes at most the limit.
    for _ in range(3):
        dataset = upload(
            market,
            seller=seller,
            raw=sensor_csv(rows=3 + _),
            title="t",
            category="mobility.traffic",
            data_class="non_personal",
        )
        offer_licences(
            market,
            seller=seller,
            dataset_id=dataset.id,
            price_yen=1_000,
            licence_count=None,
            allowed_purposes=["research"],
        )
    standing = market.credit.standing(buyer)
    assert standing["unpaid_invoices_yen"] + standing["reserved_by_open_bids_yen"] <= 10_000


def test_the_risk_stage_is_rebuilt_with_the_engine(settings: Settings) -> None:
    with Market(settings, bus=InProcessBus()) as market:
        _, _, listing = list_sensor_dataset(market, price_yen=5_000)
        buyer = register_buyer(market, credit_limit_yen=10_000)
        _bid(market, buyer, listing.instrument, 3_000, quantity=2)
    with Market(settings, bus=InProcessBus()) as restarted:
        assert restarted.orders.risk.reserved_yen(buyer.id) == 6_600


def test_a_deposit_lets_a_buyer_without_credit_bid_and_pays_its_invoice(
    market: Market, operator
) -> None:  # type: ignore[no-untyped-def]
    _, _, listing = list_sensor_dataset(market, price_yen=3_000)
    buyer, _ = market.accounts.register(name="Prepaid KK", kind="business")
    with pytest.raises(CreditLimitExceeded):
        _bid(market, buyer, listing.instrument, 3_000)
    balance = market.credit.record_deposit(
        operator=operator,
        participant_id=buyer.id,
        amount_yen=5_000,
        reference="MUFG 1201",
        reason="transfer received",
    )
    assert balance == 5_000
    outcome = _bid(market, buyer, listing.instrument, 3_000)
    assert len(outcome.trades) == 1
    [invoice] = market.find(Invoice, buyer_id=buyer.id)
    assert invoice.status == "paid"
    assert market.credit.standing(buyer)["deposit_yen"] == 1_700  # 3,000 + 300 tax paid
    assert sum(market.credit.trial_balance().values()) == 0


# Item 6: an exclusive licence excludes every other licence and listing of the data.
def test_only_one_exclusive_listing_and_no_relisting_during_its_term(market: Market) -> None:
    seller, dataset, listing = list_sensor_dataset(
        market, licence_count=1, exclusive=True, term_days=30
    )
    with pytest.raises(ExclusivityConflict):
        offer_licences(
            market,
            seller=seller,
            dataset_id=dataset.id,
            price_yen=500,
            licence_count=1,
            exclusive=True,
            allowed_purposes=["public"],
        )
    buyer = register_buyer(market)
    assert len(_bid(market, buyer, listing.instrument, 1_000).trades) == 1
    with pytest.raises(ExclusivityConflict):
        offer_licences(
            market,
            seller=seller,
            dataset_id=dataset.id,
            price_yen=500,
            licence_count=None,
            allowed_purposes=["marketing"],
        )
    with Session(market.db) as session:
        assert len(session.exec(select(Listing)).all()) == 1
        assert len(session.exec(select(Licence)).all()) == 1


def test_an_exclusive_listing_needs_the_data_free_of_other_listings(market: Market) -> None:
    seller, dataset, _ = list_sensor_dataset(market)
    with pytest.raises(ExclusivityConflict):
        offer_licences(
            market,
            seller=seller,
            dataset_id=dataset.id,
            price_yen=500,
            licence_count=1,
            exclusive=True,
            allowed_purposes=["research"],
        )


# Item 7: a buyer cannot pay twice for a licence it holds; bought data cannot be resold.
def test_a_second_licence_for_the_same_purpose_is_refused(market: Market) -> None:
    _, dataset, listing = list_sensor_dataset(market)
    buyer = register_buyer(market)
    assert len(_bid(market, buyer, listing.instrument, 1_000, dataset_id=dataset.id).trades) == 1
    with pytest.raises(DuplicateLicence):
        _bid(market, buyer, listing.instrument, 1_000, dataset_id=dataset.id)
    assert _count(market, Bid) == 1
    other_purpose = place_bid(
        market,
        buyer=buyer,
        instrument=listing.instrument,
        max_price_yen=1_000,
        purpose="research.statistics",
        dataset_id=dataset.id,
    )
    assert len(other_purpose.trades) == 1


def test_bought_data_uploaded_again_cannot_be_listed(market: Market) -> None:
    _, dataset, listing = list_sensor_dataset(market)
    buyer = register_buyer(market)
    _bid(market, buyer, listing.instrument, 1_000)
    data = b"".join(market.delivery.deliver(participant=buyer, dataset_id=dataset.id).chunks)
    copy = upload(
        market,
        seller=buyer,
        raw=data,
        title="mine",
        category="mobility.traffic",
        data_class="non_personal",
    )
    with pytest.raises(RedistributionForbidden):
        offer_licences(
            market,
            seller=buyer,
            dataset_id=copy.id,
            price_yen=10,
            licence_count=None,
            allowed_purposes=["research"],
        )
    assert _count(market, Listing) == 1


# Item 8: a declared recipient category counts only once an operator verified it.
def test_an_unverified_category_opens_no_restricted_listing(market: Market, operator) -> None:  # type: ignore[no-untyped-def]
    _, _, listing = list_sensor_dataset(market, allowed_recipients=["category:public"])
    claimant = register_buyer(market, category="public", verified=False)
    assert _bid(market, claimant, listing.instrument, 1_000, time_in_force="IOC").trades == []
    market.accounts.set_verification(
        operator=operator, participant_id=claimant.id, verified=True, reason="city hall"
    )
    verified = market.participants(verification="verified").items[0]
    assert len(_bid(market, verified, listing.instrument, 1_000).trades) == 1


def test_an_unverified_category_is_still_denied(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, denied_recipients=["category:insurance"])
    insurer = register_buyer(market, category="insurance", verified=False)
    assert _bid(market, insurer, listing.instrument, 1_000).trades == []


# Item 9: a listing id sent to the bid endpoint is refused before the engine sees it.
def test_cancelling_a_listing_as_a_bid_changes_nothing(market: Market) -> None:
    seller, _, listing = list_sensor_dataset(market)
    journal_before = market.trading.state_hash()
    with pytest.raises(NotFound):
        market.orders.cancel_bid(buyer=seller, bid_id=listing.id)
    assert market.trading.state_hash() == journal_before
    with Session(market.db) as session:
        assert session.get(Listing, listing.id).status == "open"  # type: ignore[union-attr]


# Item 10: a term that would overflow the licence expiry is refused up front.
def test_a_term_beyond_a_century_is_refused_before_the_engine(market: Market) -> None:
    seller, dataset, _ = list_sensor_dataset(market)
    with pytest.raises(InvalidRequest, match="term_days"):
        offer_licences(
            market,
            seller=seller,
            dataset_id=dataset.id,
            price_yen=10,
            licence_count=None,
            term_days=10**7,
            allowed_purposes=["research"],
        )
    assert _count(market, Listing) == 1


# Item 13: the idempotent response commits with the work, never apart from it.
def test_an_idempotent_bid_stores_its_response_in_the_same_transaction(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market)
    buyer = register_buyer(market)

    def render(session: Session, outcome) -> dict:  # type: ignore[no-untyped-def]
        assert session.get(Bid, outcome.bid.id) is not None  # visible: same transaction
        return {"bid": outcome.bid.id}

    response, replayed = market.idempotent(
        participant=buyer,
        key="k-1",
        request_hash="h",
        render=render,
        produce=lambda claim: place_bid(
            market,
            buyer=buyer,
            claim=claim,
            instrument=listing.instrument,
            max_price_yen=1_000,
            purpose=PURPOSE,
        ),
    )
    assert not replayed
    again, replayed = market.idempotent(
        participant=buyer, key="k-1", request_hash="h", render=render, produce=lambda c: None
    )
    assert replayed and again == response
    assert _count(market, Trade) == 1


def test_a_claim_that_fails_to_render_leaves_no_bid(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market)
    buyer = register_buyer(market)

    def broken(session: Session, outcome) -> dict:  # type: ignore[no-untyped-def]
        raise RuntimeError("response could not be stored")

    with pytest.raises(RuntimeError):
        market.idempotent(
            participant=buyer,
            key="k-2",
            request_hash="h",
            render=broken,
            produce=lambda claim: place_bid(
                market,
                buyer=buyer,
                claim=claim,
                instrument=listing.instrument,
                max_price_yen=1_000,
                purpose=PURPOSE,
            ),
        )
    assert _count(market, Bid) == 0 and _count(market, Trade) == 0
    # The key was released: a retry runs the work once.
    _, replayed = market.idempotent(
        participant=buyer,
        key="k-2",
        request_hash="h",
        render=lambda s, o: {"bid": o.bid.id},
        produce=lambda claim: place_bid(
            market,
            buyer=buyer,
            claim=claim,
            instrument=listing.instrument,
            max_price_yen=1_000,
            purpose=PURPOSE,
        ),
    )
    assert not replayed and _count(market, Trade) == 1


# Item 14: instruments are a registry; non-resting outcomes say why.
def test_a_bid_on_a_mistyped_instrument_names_the_near_match(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market)
    buyer = register_buyer(market)
    with pytest.raises(UnknownInstrument, match=re.escape("mobility.traffic/non_personal")):
        _bid(market, buyer, "mobility.trafic/non_personal", 10)
    assert _count(market, Bid) == 0
    assert [i.name for i in market.instruments().items] == [listing.instrument]


def test_an_unfilled_immediate_bid_says_why(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    outcome = _bid(market, buyer, listing.instrument, 10, time_in_force="IOC")
    assert outcome.bid.status == "cancelled"
    assert outcome.bid.status_reason and "no eligible ask" in outcome.bid.status_reason


# Issue 10 item 5: prices change through the engine's amend; raising a bid reserves the difference.
def test_raising_a_bid_reserves_the_difference_and_may_trade(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=5_000)
    buyer = register_buyer(market, credit_limit_yen=6_600)
    resting = _bid(market, buyer, listing.instrument, 4_000)
    assert resting.trades == []
    with pytest.raises(CreditLimitExceeded):
        market.orders.amend_bid(buyer=buyer, bid_id=resting.bid.id, max_price_yen=7_000)
    assert market.credit.standing(buyer)["reserved_by_open_bids_yen"] == 4_400
    raised = market.orders.amend_bid(buyer=buyer, bid_id=resting.bid.id, max_price_yen=5_500)
    assert [t.price_yen for t in raised.trades] == [5_000]
    assert raised.bid.max_price_yen == 5_500 and raised.bid.status == "filled"
    assert market.credit.standing(buyer)["reserved_by_open_bids_yen"] == 0


def test_a_listing_price_cut_trades_with_a_resting_bid(market: Market) -> None:
    seller, _, listing = list_sensor_dataset(market, price_yen=5_000, licence_count=2)
    buyer = register_buyer(market)
    assert _bid(market, buyer, listing.instrument, 3_000).trades == []
    amended = market.orders.amend_listing(seller=seller, listing_id=listing.id, price_yen=2_500)
    assert amended.price_yen == 2_500 and amended.licences_sold == 1
    # The amended ask is the aggressor: it trades at the resting bid's price.
    balance = market.credit.seller_balance(seller)
    assert balance["gross_sales_yen"] == 3_000 and balance["fees_yen"] == 300
    # Sales 3,000 + 300 tax, less the fee 300 and the fee's own tax 30.
    assert balance["balance_yen"] == 2_970
    with pytest.raises(InvalidRequest):
        market.orders.amend_listing(seller=seller, listing_id=listing.id, licence_count=1)


def test_a_bid_for_any_dataset_skips_one_the_buyer_already_licenses(market: Market) -> None:
    seller, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    assert [t.dataset_id for t in _bid(market, buyer, listing.instrument, 1_000).trades] == [
        dataset.id
    ]
    again = _bid(market, buyer, listing.instrument, 1_000, time_in_force="IOC")
    assert again.trades == []  # the only dataset on offer is one it holds for this purpose
    other = upload(
        market,
        seller=seller,
        raw=sensor_csv(rows=9),
        title="t2",
        category="mobility.traffic",
        data_class="non_personal",
    )
    offer_licences(
        market,
        seller=seller,
        dataset_id=other.id,
        price_yen=1_000,
        licence_count=None,
        allowed_purposes=["research"],
    )
    assert [t.dataset_id for t in _bid(market, buyer, listing.instrument, 1_000).trades] == [
        other.id
    ]
