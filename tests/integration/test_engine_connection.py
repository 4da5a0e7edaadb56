"""The engine thread's own database connection (issue 14): kept between its transactions, and
replaced when it dies.

A pooled connection per batch cost a checkout, a reset and, on PostgreSQL, a liveness ping;
the engine thread now keeps one connection. These tests check what that must not cost: a
connection the database dropped while the engine waited is replaced without failing the next
order, a transaction that failed leaves no writer lock or open transaction behind, and closing
the market closes the connection.
"""

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from api.schemas import BidPublic
from market.errors import CreditLimitExceeded
from market.events import InProcessBus
from market.models import Bid
from market.service import Market
from market.settings import Settings
from tests.factories import journal_rows, list_sensor_dataset, place_bid, register_buyer

PURPOSE = "research.academic"


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    with Market(settings, bus=InProcessBus()) as market:
        yield market


def _engine_backend_pid(market: Market) -> int:
    connection = market.orders._connection
    assert connection is not None, "the engine thread keeps no connection"
    return int(connection.connection.dbapi_connection.info.backend_pid)  # type: ignore[union-attr]


def _stored_bids(market: Market) -> list[str]:
    with Session(market.db) as session:
        return list(session.exec(select(Bid.id).order_by(Bid.created_at)))


def test_one_connection_serves_every_transaction(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=2_000)
    buyer = register_buyer(market)
    place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    kept = market.orders._connection
    for price in (101, 102, 103):
        place_bid(
            market, buyer=buyer, instrument=listing.instrument, max_price_yen=price, purpose=PURPOSE
        )
    assert market.orders._connection is kept
    assert len(_stored_bids(market)) == 4


def test_a_refused_order_leaves_the_connection_usable_and_nothing_stored(market: Market) -> None:
    """A refusal raised inside the transaction rolls it back (and releases SQLite's writer
    lock): the next order commits on the same connection."""
    _, _, listing = list_sensor_dataset(market, price_yen=2_000)
    buyer = register_buyer(market, credit_limit_yen=10_000)
    journal_before = journal_rows(market)
    with pytest.raises(CreditLimitExceeded):
        place_bid(
            market,
            buyer=buyer,
            instrument=listing.instrument,
            max_price_yen=1_000_000,
            purpose=PURPOSE,
        )
    assert _stored_bids(market) == []
    assert journal_rows(market) == journal_before
    kept = market.orders._connection
    placed = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    assert market.orders._connection is kept
    assert _stored_bids(market) == [placed.bid.id]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_connection_the_database_dropped_is_replaced_without_failing_the_order(
    market: Market,
) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=2_000)
    buyer = register_buyer(market)
    first = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    dead = _engine_backend_pid(market)
    with market.db.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead}).scalar()
        admin.commit()

    second = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=101, purpose=PURPOSE
    )

    assert _engine_backend_pid(market) != dead
    assert _stored_bids(market) == [first.bid.id, second.bid.id]
    book = market.trading.engine.books[listing.instrument]
    assert book.is_live(first.bid.id) and book.is_live(second.bid.id)
    # The engine holds what the database holds: a restore from the journal agrees.
    state = market.trading.engine.state_hash()
    market.orders.restore()
    assert market.trading.engine.state_hash() == state


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_closing_the_market_closes_the_engine_connection(settings: Settings) -> None:
    market = Market(settings, bus=InProcessBus()).start()
    try:
        _, _, listing = list_sensor_dataset(market, price_yen=2_000)
        buyer = register_buyer(market)
        place_bid(
            market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
        )
        pid = _engine_backend_pid(market)
    finally:
        market.close()
    with market.db.connect() as admin:
        alive = admin.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        ).scalar()
    market.db.dispose()
    assert alive == 0


def test_the_publisher_is_woken_only_by_transactions_that_recorded_events(
    market: Market,
) -> None:
    """A resting bid records no outbox event and wakes no publisher; a trade's events are
    published (the wake-up comes with the transaction that recorded them)."""
    _, _, listing = list_sensor_dataset(market, price_yen=2_000)
    buyer = register_buyer(market)
    wakes: list[int] = []
    woken = market.orders.after_commit
    market.orders.after_commit = lambda: (wakes.append(1), woken())[1]  # type: ignore[method-assign]
    place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    assert wakes == []
    traded = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=2_000, purpose=PURPOSE
    )
    assert len(traded.trades) == 1
    assert wakes == [1]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        published = [p for t, p in market.bus.read_recent(50) if t == "TradeExecuted"]
        if published:
            break
        time.sleep(0.02)
    assert [p["trade_id"] for p in published] == [traded.trades[0].id]


def test_a_resting_plain_bid_is_answered_from_the_row_it_stored(market: Market) -> None:
    """The engine thread builds no ORM object for a bid that rested: its answer is the row bulk
    entry wrote, and the public view of it equals the view of the stored bid."""
    _, _, listing = list_sensor_dataset(market, price_yen=2_000)
    buyer = register_buyer(market)
    outcome = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=100, purpose=PURPOSE
    )
    assert isinstance(outcome.stored, dict)
    with Session(market.db) as session:
        stored = session.get(Bid, outcome.stored["id"])
        assert stored is not None
        expected = BidPublic.model_validate(stored).model_dump(mode="json")
    assert BidPublic.model_validate(outcome.stored).model_dump(mode="json") == expected
    # Asked for, the object is built once from the row.
    assert isinstance(outcome.bid, Bid) and outcome.bid is outcome.bid
    assert BidPublic.model_validate(outcome.bid).model_dump(mode="json") == expected
