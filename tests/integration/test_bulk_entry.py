"""Bulk order entry's fast path (issue 14, items 2 and 4): one request, one unit of work.

The orders of `OrderDesk.enter_batch` are checked together and the rows of those that only rest
are written with one statement per table; credit, held licences and idempotency still hold
order by order. Every test runs on SQLite and on PostgreSQL.
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from api.schemas import BidPublic
from market.errors import Conflict, CreditLimitExceeded, MarketError, NotFound
from market.events import InProcessBus
from market.models import Bid, IdempotencyRecord, Participant, Trade, utcnow
from market.revisions.entitlement import held_datasets
from market.service import Market
from market.settings import Settings
from market.settlement import credit
from market.settlement.ledger import trial_balance
from market.trading.batch import BatchAnswer, BatchItem, CancelOrder
from market.trading.bulk import CANCELLED_BY_OWNER
from market.trading.commands import LicenceTerms, OfferLicences, PlaceBid
from market.trading.listings import OrderKindMismatch, make_cancel
from market.trading.service import TradingService
from market.trading.standing import standing
from tests.factories import journal_rows, list_sensor_dataset, place_bid, register_buyer

PURPOSE = "research.academic"


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    with Market(settings, bus=InProcessBus()) as market:
        yield market


def _bid(cid: str, instrument: str, price: int, **terms: Any) -> BatchItem:
    order = PlaceBid(instrument=instrument, max_price_yen=price, purpose=PURPOSE, **terms)
    return BatchItem(client_order_id=cid, order=order, request_hash=f"{cid}:{price}")


def _cancel(cid: str, order_id: str) -> BatchItem:
    return BatchItem(
        client_order_id=cid,
        order=CancelOrder(side="bid", order_id=order_id),
        request_hash=f"{cid}:{order_id}",
    )


def _enter(market: Market, buyer: Participant, items: list[BatchItem]) -> list[BatchAnswer]:
    return market.orders.enter_batch(participant=buyer, items=items)


def _bids(market: Market) -> dict[str, Bid]:
    with Session(market.db) as session:
        return {bid.id: bid for bid in session.exec(select(Bid)).all()}


def _keys(market: Market, buyer: Participant) -> set[str]:
    with Session(market.db) as session:
        records = session.exec(
            select(IdempotencyRecord).where(IdempotencyRecord.participant_id == buyer.id)
        ).all()
        return {record.key for record in records}


@contextmanager
def engine_statements(market: Market) -> Iterator[list[str]]:
    """The SQL the engine thread sends while the block runs (the outbox publisher, running
    beside it, is left out)."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        if market.orders.sequencer.in_engine_thread():
            statements.append(args[2])

    event.listen(market.db, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(market.db, "before_cursor_execute", count)


def _rebuilt_hash(market: Market) -> str:
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    return rebuilt.state_hash()


def test_resting_bids_and_cancels_of_one_request_are_written_in_a_few_statements(
    market: Market,
) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    resting = [_bid(f"b-{i}", listing.instrument, 100 + i) for i in range(200)]
    with engine_statements(market) as statements:
        answers = _enter(market, buyer, resting)

    assert [a.status for a in answers] == ["accepted"] * 200
    bids = _bids(market)
    assert {a.order_id for a in answers} == set(bids)
    assert all(bid.status == "open" and bid.buyer_id == buyer.id for bid in bids.values())
    assert _keys(market, buyer) == {f"order:b-{i}" for i in range(200)}
    # One request: the owner fence, three look-ups, credit, held licences, one insert per
    # table (the journal rows in a few multi-row inserts) and the commit: not one per order.
    assert len(statements) < 20, statements

    cancels = [_cancel(f"c-{i}", answers[i].order_id or "") for i in range(0, 200, 2)]
    cancelled = _enter(market, buyer, cancels)
    assert [a.status for a in cancelled] == ["cancelled"] * 100
    statuses = {bid_id: bid.status for bid_id, bid in _bids(market).items()}
    assert [statuses[a.order_id or ""] for a in answers[:4]] == ["cancelled", "open"] * 2
    assert market.orders.risk.reserved_yen(buyer.id) == sum(
        110 * (100 + i) // 100 for i in range(1, 200, 2)
    )
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_the_credit_limit_holds_order_by_order_within_one_request(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=100_000)
    # 10,000 yen of credit: three bids of 3,000 yen (3,300 with tax) fit, the fourth does not.
    buyer = register_buyer(market, credit_limit_yen=10_000)
    items = [_bid(f"b-{i}", listing.instrument, 3_000 + i) for i in range(4)]

    answers = _enter(market, buyer, items)

    assert [a.status for a in answers] == ["accepted", "accepted", "accepted", "rejected"]
    problem = answers[3].problem or {}
    assert problem["status"] == CreditLimitExceeded.status and answers[3].order_id is None
    assert {bid.max_price_yen for bid in _bids(market).values()} == {3_000, 3_001, 3_002}
    assert "order:b-3" not in _keys(market, buyer)
    assert market.orders.risk.reserved_yen(buyer.id) == 3_300 + 3_301 + 3_302


def test_a_bid_that_trades_is_booked_and_the_next_skips_the_dataset_it_licensed(
    market: Market,
) -> None:
    _, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    items = [
        _bid("rests", listing.instrument, 500),
        _bid("trades", listing.instrument, 1_000),
        # The buyer now holds a licence of the only dataset: this bid rests instead of buying
        # the same licence twice.
        _bid("held", listing.instrument, 1_000),
    ]

    with engine_statements(market) as seen:
        answers = _enter(market, buyer, items)

    assert [a.status for a in answers] == ["accepted", "traded", "accepted"]
    assert answers[1].trades[0]["dataset_id"] == dataset.id
    # No listing of PDS records was ever offered on the instrument: the trade does not look.
    assert not [s for s in seen if "personallisting" in s.lower()]
    with Session(market.db) as session:
        trades = session.exec(select(Trade)).all()
        assert [t.bid_id for t in trades] == [answers[1].order_id]
        assert sum(trial_balance(session=session).values()) == 0
    assert _bids(market)[answers[2].order_id or ""].status == "open"
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_trades_between_resting_bids_leave_the_waiting_rows_for_one_insert(
    market: Market,
) -> None:
    """A bid that trades leaves the waiting journal rows, bids, cancels and answers waiting
    (its booking writes no journal row): they go in one statement per table at the end."""
    listings = [list_sensor_dataset(market, price_yen=1_000)[2] for _ in range(3)]
    instrument = listings[0].instrument
    assert {listing.instrument for listing in listings} == {instrument}
    buyer = register_buyer(market)
    first = _enter(market, buyer, [_bid(f"early-{i}", instrument, 10 + i) for i in range(4)])
    items = []
    for i in range(3):
        items += [
            _bid(f"rest-{i}", instrument, 100 + i),
            _cancel(f"c-{i}", first[i].order_id or ""),
        ]
        items.append(_bid(f"buy-{i}", instrument, 1_000, time_in_force="IOC"))

    with engine_statements(market) as seen:
        answers = _enter(market, buyer, items)

    assert [a.status for a in answers] == ["accepted", "cancelled", "traded"] * 3
    statements = [statement.lower() for statement in seen]
    assert len([s for s in statements if s.startswith("insert into bid ")]) == 1 + 3
    assert len([s for s in statements if s.startswith("update bid set status")]) == 1
    assert len([s for s in statements if s.startswith("insert into idempotencyrecord")]) == 1
    assert len([s for s in statements if s.startswith("insert into journalcommand")]) == 1
    bids = _bids(market)
    assert [bids[a.order_id or ""].status for a in answers] == ["open", "cancelled", "filled"] * 3
    assert [bids[a.order_id or ""].status for a in first] == ["cancelled"] * 3 + ["open"]
    assert _keys(market, buyer) >= {f"order:{item.client_order_id}" for item in items}
    with Session(market.db) as session:
        assert len(session.exec(select(Trade)).all()) == 3
        assert sum(trial_balance(session=session).values()) == 0
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_an_id_repeated_in_one_request_is_answered_once(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    same = _bid("twice", listing.instrument, 500)
    other = BatchItem(client_order_id="twice", order=same.order, request_hash="another order")

    first, again, conflict = _enter(market, buyer, [same, same, other])

    assert (first.status, again.status) == ("accepted", "accepted")
    assert again.replayed and again.order_id == first.order_id
    assert conflict.status == "rejected" and (conflict.problem or {})["status"] == 409
    assert list(_bids(market)) == [first.order_id]


def test_a_cancel_of_another_buyers_bid_is_refused_and_changes_nothing(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    owner, intruder = register_buyer(market), register_buyer(market)
    [placed] = _enter(market, owner, [_bid("mine", listing.instrument, 500)])
    journal_before = market.trading.applied_seq

    [refused] = _enter(market, intruder, [_cancel("theirs", placed.order_id or "")])

    assert refused.status == "rejected" and (refused.problem or {})["status"] == NotFound.status
    assert _bids(market)[placed.order_id or ""].status == "open"
    assert _keys(market, intruder) == set()
    assert market.trading.applied_seq == journal_before


def test_a_single_bid_on_a_known_instrument_skips_the_registry_and_pds_lookups(
    market: Market,
) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    with engine_statements(market) as seen:
        outcome = place_bid(
            market, buyer=buyer, instrument=listing.instrument, max_price_yen=200, purpose=PURPOSE
        )
    statements = [statement.lower() for statement in seen]

    assert outcome.bid.status == "open" and outcome.bid.records_per_licence == 1
    assert not [s for s in statements if "from instrument" in s or "personallisting" in s]
    assert any(s.startswith("insert into bid") for s in statements)


def test_a_single_plain_bid_takes_the_fast_path_in_a_few_statements(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    with engine_statements(market) as statements:
        order = PlaceBid(instrument=listing.instrument, max_price_yen=500, purpose=PURPOSE)
        outcome = market.orders.place_bid(buyer=buyer, order=order)

    assert outcome.bid.status == "open" and outcome.trades == []
    stored = _bids(market)[outcome.bid.id]
    assert (stored.buyer_id, stored.max_price_yen, stored.status) == (buyer.id, 500, "open")
    # The fence, the buyer's standing (credit and held licences), the journal rows and the bid
    # (one insert each; BEGIN goes to the driver directly); the per-order path takes eight
    # (registry and PDS look-ups, separate credit and licence reads, two journal inserts).
    assert len(statements) <= 4, statements
    assert market.orders.risk.reserved_yen(buyer.id) == 550
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_a_single_bid_over_the_credit_limit_is_refused_with_its_reason_and_stores_nothing(
    market: Market,
) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=100_000)
    buyer = register_buyer(market, credit_limit_yen=1_000)
    order = PlaceBid(instrument=listing.instrument, max_price_yen=5_000, purpose=PURPOSE)

    with pytest.raises(CreditLimitExceeded, match="could cost up to 5,500 yen"):
        market.orders.place_bid(buyer=buyer, order=order)

    assert _bids(market) == {}
    assert market.orders.risk.reserved_yen(buyer.id) == 0
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_a_single_cancel_takes_the_fast_path_in_a_few_statements(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    order = PlaceBid(instrument=listing.instrument, max_price_yen=500, purpose=PURPOSE)
    placed = market.orders.place_bid(buyer=buyer, order=order).bid
    journal_before = journal_rows(market)
    with engine_statements(market) as statements:
        cancelled = market.orders.cancel_bid(buyer=buyer, bid_id=placed.id)

    # The fence, the bid's row, the journal rows (one insert) and the status update (BEGIN goes
    # to the driver directly); the per-order path loads the bid twice and writes each journal
    # row and the bid by the ORM.
    assert len(statements) <= 4, statements
    stored = _bids(market)[placed.id]
    assert (stored.status, stored.status_reason) == ("cancelled", CANCELLED_BY_OWNER)
    # The answer is the stored bid, as the API returns it.
    assert BidPublic.model_validate(cancelled) == BidPublic.model_validate(stored)
    assert journal_rows(market) == journal_before + 2  # the clock tick and the cancel
    assert market.orders.risk.reserved_yen(buyer.id) == 0
    assert _rebuilt_hash(market) == market.trading.state_hash()


def _refusal_before(market: Market, buyer: Participant, bid_id: str) -> tuple[type, str]:
    """What the per-order path's check (`make_cancel`) refuses this cancel with."""
    with Session(market.db) as session, pytest.raises(MarketError) as refused:
        make_cancel(session=session, participant=buyer, order_id=bid_id, kind=Bid)
    return type(refused.value), str(refused.value)


def test_a_single_cancel_is_refused_as_before_and_stores_nothing(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    owner, intruder = register_buyer(market), register_buyer(market)
    order = PlaceBid(instrument=listing.instrument, max_price_yen=500, purpose=PURPOSE)
    live = market.orders.place_bid(buyer=owner, order=order).bid
    gone = market.orders.place_bid(buyer=owner, order=order).bid
    market.orders.cancel_bid(buyer=owner, bid_id=gone.id)
    cases = [
        (owner, "no-such-bid", OrderKindMismatch),
        (owner, listing.id, OrderKindMismatch),  # a listing's id sent to the bid endpoint
        (intruder, live.id, NotFound),
        (owner, gone.id, Conflict),
    ]
    bids_before, journal_before = _bids(market), journal_rows(market)
    reserved_before = market.orders.risk.reserved_yen(owner.id)
    hash_before = market.trading.state_hash()

    for buyer, bid_id, kind in cases:
        expected = _refusal_before(market, buyer, bid_id)
        with pytest.raises(MarketError) as refused:
            market.orders.cancel_bid(buyer=buyer, bid_id=bid_id)
        assert (type(refused.value), str(refused.value)) == expected
        assert isinstance(refused.value, kind)

    assert journal_rows(market) == journal_before
    assert {i: (b.status, b.status_reason) for i, b in _bids(market).items()} == {
        i: (b.status, b.status_reason) for i, b in bids_before.items()
    }
    assert market.orders.risk.reserved_yen(owner.id) == reserved_before
    assert market.trading.state_hash() == hash_before


def test_two_cancels_of_one_bid_awaited_together_cancel_it_once(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    order = PlaceBid(instrument=listing.instrument, max_price_yen=500, purpose=PURPOSE)
    placed = market.orders.place_bid(buyer=buyer, order=order).bid
    journal_before = journal_rows(market)

    async def cancel_twice() -> tuple[Bid | BaseException, Bid | BaseException]:
        # As two DELETE /bids/{id} handlers would: both queued before either is answered.
        cancel = market.orders.cancel_bid_async
        return await asyncio.gather(
            cancel(buyer=buyer, bid_id=placed.id),
            cancel(buyer=buyer, bid_id=placed.id),
            return_exceptions=True,
        )

    first, second = asyncio.run(cancel_twice())

    assert isinstance(first, Bid) and first.status == "cancelled"
    assert isinstance(second, Conflict)
    assert str(second) == f"order {placed.id} is cancelled and can no longer be cancelled"
    assert _bids(market)[placed.id].status == "cancelled"
    assert journal_rows(market) == journal_before + 2
    assert market.orders.risk.reserved_yen(buyer.id) == 0
    assert _rebuilt_hash(market) == market.trading.state_hash()


def test_a_buyers_standing_in_one_statement_equals_the_two_reads_it_replaces(
    market: Market,
) -> None:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    _, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    _, _, other = list_sensor_dataset(market, price_yen=700)
    buyer = register_buyer(market, credit_limit_yen=50_000)
    stranger = register_buyer(market)

    def both(who: Participant, instrument: str, purpose: str) -> tuple[Any, Any]:
        now = utcnow()
        with Session(market.db) as session:
            fresh = session.get(Participant, who.id)
            assert fresh is not None
            one = standing(
                session=session, buyer=fresh, instrument=instrument, purpose=purpose, now=now
            )
            two = (
                credit.available_yen(session=session, buyer=fresh, reserved_yen=0),
                held_datasets(session=session, buyer=fresh, instrument=instrument, purpose=purpose),
            )
        return one, two

    # Nothing held, nothing owed, no deposit: a row of nulls on the held side.
    one, two = both(stranger, listing.instrument, PURPOSE)
    assert one == two == (stranger.credit_limit_yen, frozenset())
    # A trade: an unpaid invoice and a held licence; then a deposit that pays it.
    answers = _enter(market, buyer, [_bid("buys", listing.instrument, 1_000, time_in_force="IOC")])
    assert answers[0].status == "traded"
    one, two = both(buyer, listing.instrument, PURPOSE)
    assert one == two and one[0] < 50_000
    assert len(one[1]) == 1 and one[1] <= {dataset.id, other.dataset_id}
    market.credit.record_deposit(
        operator=operator, participant_id=buyer.id, amount_yen=9_000, reference="r", reason="t"
    )
    one, two = both(buyer, listing.instrument, PURPOSE)
    assert one == two and one[0] > 50_000
    # Another purpose holds nothing.
    one, two = both(buyer, listing.instrument, "research.statistics")
    assert one == two and one[1] == frozenset()


def test_an_ioc_bid_with_nothing_to_fill_is_answered_cancelled_on_both_paths(
    market: Market,
) -> None:
    """Not `accepted` (resting): it left the book unfilled and is stored cancelled, whether it
    took the fast path or, naming a dataset, the per-order path."""
    _, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    items = [
        _bid("fast", listing.instrument, 500, time_in_force="IOC"),
        _bid("named", listing.instrument, 500, time_in_force="IOC", dataset_id=dataset.id),
        _bid("rests", listing.instrument, 500),
    ]

    answers = _enter(market, buyer, items)

    assert [a.status for a in answers] == ["cancelled", "cancelled", "accepted"]
    bids = _bids(market)
    assert [bids[a.order_id or ""].status for a in answers] == ["cancelled", "cancelled", "open"]
    # A retry is answered as before.
    assert [a.status for a in _enter(market, buyer, items)] == ["cancelled"] * 2 + ["accepted"]


def test_an_ask_that_sells_at_once_is_answered_traded_with_its_trades(market: Market) -> None:
    seller, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    [resting] = _enter(market, buyer, [_bid("waits", listing.instrument, 900)])
    assert resting.status == "accepted"
    # The same seller lists the dataset again, cheaper: the resting bid buys from it at once.
    ask = OfferLicences(
        dataset_id=dataset.id,
        terms=LicenceTerms(price_yen=800, allowed_purposes=["research"], licence_count=5),
    )
    item = BatchItem(client_order_id="sells", order=ask, request_hash="sells")

    [answer] = market.orders.enter_batch(participant=seller, items=[item])

    assert answer.status == "traded", answer
    [trade] = answer.trades
    assert (trade["listing_id"], trade["bid_id"]) == (answer.order_id, resting.order_id)
    assert trade["price_yen"] == 900  # the resting bid's price
    assert _bids(market)[resting.order_id or ""].status == "filled"
