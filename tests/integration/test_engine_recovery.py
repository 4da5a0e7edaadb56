"""Engine recovery: restore from a snapshot plus the journal tail, ticks only when due, bounded
orders, and journals of the first format. Run on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session, select

import matching
from market import db
from market.errors import OrderRejected
from market.events import InProcessBus
from market.models import Bid, JournalCommand
from market.service import Market
from market.settings import Settings
from market.trading.tables import EngineSnapshot
from tests.factories import journal_rows, list_sensor_dataset, place_bid, register_buyer

INSTRUMENT = "mobility.traffic/non_personal"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def market(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    settings.engine_snapshot_interval = 6
    with Market(settings, bus=InProcessBus(), clock=clock) as market:
        yield market


def _trade_a_little(market: Market, clock: FakeClock, rounds: int) -> None:
    for _ in range(rounds):
        clock.now += 1_000
        list_sensor_dataset(market, licence_count=3)
        place_bid(
            market,
            buyer=register_buyer(market),
            instrument=INSTRUMENT,
            max_price_yen=500,
            purpose="research.statistics",
        )


def test_start_after_a_snapshot_gives_the_state_of_full_replay(
    settings: Settings, market: Market, clock: FakeClock
) -> None:
    _trade_a_little(market, clock, 4)
    covered = market.orders.snapshot_if_due()
    assert covered > 0
    _trade_a_little(market, clock, 2)
    live = market.trading.state_hash()

    restored = market.trading.rebuild(market.db)
    assert restored.snapshot_seq == covered
    assert 0 < restored.replayed < journal_rows(market)
    assert market.trading.state_hash() == live
    assert market.trading.rebuild(market.db, use_snapshot=False).snapshot_seq == 0
    assert market.trading.state_hash() == live

    market.close()
    with Market(settings, bus=InProcessBus(), clock=clock) as restarted:
        assert restarted.trading.state_hash() == live


def test_a_snapshot_that_does_not_hash_right_is_skipped(market: Market, clock: FakeClock) -> None:
    _trade_a_little(market, clock, 4)
    market.orders.snapshot_if_due()
    live = market.trading.state_hash()
    with db.unit_of_work(market.db) as session:
        snapshot = session.exec(select(EngineSnapshot)).one()
        snapshot.state_hash = "0" * 64
        session.add(snapshot)
        session.commit()
    assert market.trading.rebuild(market.db).snapshot_seq == 0
    assert market.trading.state_hash() == live


def test_an_idle_periodic_instrument_journals_no_clock_rows_per_second(
    market: Market, clock: FakeClock
) -> None:
    list_sensor_dataset(market)
    market.orders.set_trading_mode(instrument=INSTRUMENT, mode="periodic", interval_seconds=60)
    rows = journal_rows(market)
    for _ in range(59):
        clock.now += 1_000
        assert market.orders.tick_if_due() is None
    assert journal_rows(market) == rows
    clock.now += 1_000
    assert market.orders.tick_if_due() == []
    assert journal_rows(market) == rows + 1
    assert market.orders.tick_if_due() is None


def test_an_oversized_bid_is_refused_before_the_journal(market: Market) -> None:
    list_sensor_dataset(market)
    buyer = register_buyer(market)
    rows = journal_rows(market)
    with pytest.raises(OrderRejected, match="more than 100 entries"):
        place_bid(
            market,
            buyer=buyer,
            instrument=INSTRUMENT,
            max_price_yen=100,
            purpose="research.statistics",
            required_tags=[f"tag-{i}" for i in range(101)],
        )
    assert journal_rows(market) == rows
    assert market.find(Bid) == []


def test_a_journal_of_the_first_format_keeps_replaying(market: Market) -> None:
    commands = [
        {"op": "limit", "id": "a1", "instrument": "x", "participant": "s", "side": "sell",
         "price": 10, "qty": 2, "tif": "GTC", "expires_at": None},
        {"op": "cancel", "id": "a1", "instrument": "x"},
        {"op": "limit", "id": "a2", "instrument": "x", "participant": "s", "side": "sell",
         "price": 11, "qty": 1, "tif": "GTC", "expires_at": None},
    ]  # fmt: skip
    with db.unit_of_work(market.db) as session:
        for payload in commands:
            session.add(JournalCommand(payload=payload, format=1))
        session.commit()
    market.trading.rebuild(market.db, use_snapshot=False)
    book = market.trading.engine.books["x"]
    assert [order.id for order in book.live_orders()] == ["a2"]
    with Session(market.db) as session:
        formats = set(session.exec(select(JournalCommand.format)).all())
        assert formats == {1}
    expected = matching.Engine()
    expected.apply_many(matching.command_from_dict(c, 1) for c in commands)
    assert market.trading.state_hash() == expected.state_hash()
