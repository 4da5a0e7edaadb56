"""The sequencer (issue 14, item 1): trading work queued by many callers commits in batches.

Batches are made deterministic by holding the engine lock while callers queue: the engine thread
takes the first job and waits for the lock, so every later job lands in the next batch.
Every test runs on SQLite and on PostgreSQL.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlmodel import Session, select

import matching
from market.errors import CreditLimitExceeded
from market.events import InProcessBus
from market.models import Bid, JournalCommand
from market.service import Market
from market.settings import Settings
from market.trading.service import TradingService
from tests.factories import list_sensor_dataset, place_bid, register_buyer

PURPOSE = "research.academic"
BROKEN_PRICE = 501


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    with Market(settings, bus=InProcessBus()) as market:
        yield market


class Caller(threading.Thread):
    """Runs one call in its own thread and keeps what it returned or raised."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:
            self.error = exc


def _queued(market: Market) -> int:
    return market.orders.sequencer._queue.qsize()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the sequencer did not take the queued work"
        time.sleep(0.005)


@contextmanager
def one_batch(market: Market, calls: list[Callable[[], Any]]) -> Iterator[list[Caller]]:
    """Queue `calls` in order behind a held engine lock; they then run as one batch."""
    sequencer = market.orders.sequencer
    callers = [Caller(call) for call in calls]
    with market.trading.lock:
        jobs_before = sequencer.jobs
        opener = Caller(market.orders.tick)  # taken at once; waits for the lock
        opener.start()
        _wait_for(lambda: sequencer.jobs == jobs_before + 1)
        for number, caller in enumerate(callers, start=1):
            caller.start()
            _wait_for(lambda number=number: _queued(market) == number)  # type: ignore[misc]
        batches_before = sequencer.batches
    for caller in [opener, *callers]:
        caller.join(timeout=30)
    assert sequencer.batches == batches_before + 1, "the queued work did not share one batch"
    yield callers


def _bids(market: Market) -> list[Bid]:
    with Session(market.db) as session:
        return list(session.exec(select(Bid)).all())


def test_concurrent_bids_commit_in_one_batch_and_each_caller_gets_its_own_answer(
    market: Market,
) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyers = [register_buyer(market) for _ in range(5)]
    prices = [900, 800, 700, 600, 1_000]
    calls = [
        (
            lambda b=buyer, p=price: place_bid(
                market, buyer=b, instrument=listing.instrument, max_price_yen=p, purpose=PURPOSE
            )
        )
        for buyer, price in zip(buyers, prices, strict=True)
    ]
    with one_batch(market, calls) as callers:
        assert [c.error for c in callers] == [None] * 5
        outcomes = [c.result for c in callers]
    assert [o.bid.buyer_id for o in outcomes] == [b.id for b in buyers]
    # Only the last bid reached the ask's price: it alone traded.
    assert [len(o.trades) for o in outcomes] == [0, 0, 0, 0, 1]
    assert {b.id for b in _bids(market)} == {o.bid.id for o in outcomes}


def test_work_refused_before_the_engine_fails_alone_and_stores_nothing(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    rich, poor, other = (
        register_buyer(market),
        register_buyer(market, credit_limit_yen=0),
        register_buyer(market),
    )

    def bid(buyer: Any, price: int) -> Callable[[], Any]:
        return lambda: place_bid(
            market, buyer=buyer, instrument=listing.instrument, max_price_yen=price, purpose=PURPOSE
        )

    with one_batch(market, [bid(rich, 500), bid(poor, 500), bid(other, 400)]) as callers:
        assert callers[0].error is None and callers[2].error is None
        assert isinstance(callers[1].error, CreditLimitExceeded)
    stored = {b.buyer_id for b in _bids(market)}
    assert stored == {rich.id, other.id}


def test_work_failing_after_the_engine_replays_the_batch_alone(market: Market) -> None:
    """A job that reached the engine and then failed: the engine is rebuilt, the other jobs run
    again alone and commit, the failed one leaves nothing (journal included)."""
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    first, second = register_buyer(market), register_buyer(market)

    def reaches_engine_then_fails(session: Session) -> None:
        # A resting bid no row will describe: the engine holds it until it is rebuilt.
        order = matching.Limit("ghost", listing.instrument, first.id, matching.Side.BUY, 10, 1)
        market.orders.submit(session, order)
        raise RuntimeError("booking failed after the engine applied the command")

    def bid(buyer: Any, price: int) -> Callable[[], Any]:
        return lambda: place_bid(
            market, buyer=buyer, instrument=listing.instrument, max_price_yen=price, purpose=PURPOSE
        )

    with market.trading.lock:
        journal_before = _journal(market)
    calls = [
        bid(first, 500),
        lambda: market.orders.transaction(reaches_engine_then_fails),
        bid(second, 1_000),
    ]
    with one_batch(market, calls) as callers:
        assert callers[0].error is None and callers[2].error is None
        assert isinstance(callers[1].error, RuntimeError)
        assert len(callers[2].result.trades) == 1
    assert {b.buyer_id for b in _bids(market)} == {first.id, second.id}
    journal = _journal(market)
    ghosts = [row for row in journal[len(journal_before) :] if row.get("id") == "ghost"]
    assert ghosts == [], "the failed job's engine command must not be journaled"
    assert "ghost" not in market.trading.engine.books[listing.instrument].orders
    # The live engine equals one rebuilt from the journal alone.
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()


def _queued_together(market: Market, calls: list[Callable[[], Any]]) -> list[Caller]:
    """Like `one_batch`, for work that queues more batches after the shared one fails."""
    sequencer = market.orders.sequencer
    callers = [Caller(call) for call in calls]
    with market.trading.lock:
        jobs_before = sequencer.jobs
        opener = Caller(market.orders.tick)
        opener.start()
        _wait_for(lambda: sequencer.jobs == jobs_before + 1)
        for number, caller in enumerate(callers, start=1):
            caller.start()
            _wait_for(lambda number=number: _queued(market) == number)  # type: ignore[misc]
    for caller in [opener, *callers]:
        caller.join(timeout=60)
    return callers


def _journal(market: Market) -> list[dict[str, Any]]:
    with Session(market.db) as session:
        rows = session.exec(select(JournalCommand).order_by(JournalCommand.seq)).all()
        return [row.payload for row in rows]


def test_nested_trading_work_is_refused_instead_of_waiting_forever(market: Market) -> None:
    def nested(_: Session) -> None:
        market.orders.tick()

    with pytest.raises(RuntimeError, match="cannot queue more trading work"):
        market.orders.transaction(nested)


@pytest.mark.parametrize("beside_another", [False, True])
def test_a_batch_order_the_market_fails_on_is_answered_and_leaves_nothing(
    market: Market, monkeypatch: pytest.MonkeyPatch, beside_another: bool
) -> None:
    from market.models import IdempotencyRecord
    from market.trading.batch import BatchItem
    from market.trading.commands import PlaceBid

    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    trading = market.orders.trading
    submit, submit_deferred = trading.submit, trading.submit_deferred

    def fail_on_broken(command: Any) -> None:
        if isinstance(command, matching.Limit) and command.price == BROKEN_PRICE:
            raise RuntimeError("a bug after the order was applied")

    def failing(session: Session, command: Any) -> list[Any]:
        events = submit(session, command)
        fail_on_broken(command)
        return events

    def failing_deferred(command: Any, journal: list[Any], *, tick: bool = True) -> list[Any]:
        events = submit_deferred(command, journal, tick=tick)
        fail_on_broken(command)
        return events

    # Both ways an order reaches the engine: bulk entry's, then one by one after it fails.
    monkeypatch.setattr(trading, "submit", failing)
    monkeypatch.setattr(trading, "submit_deferred", failing_deferred)
    items = [
        BatchItem(
            client_order_id=cid,
            order=PlaceBid(instrument=listing.instrument, max_price_yen=price, purpose=PURPOSE),
            request_hash=cid,
        )
        for cid, price in (("ok", 500), ("broken", BROKEN_PRICE))
    ]
    expected: set[str] = set()
    if beside_another:
        # The request shares a sequencer batch with another buyer's bid: the failed batch runs
        # again job by job, the request's job from a fresh start, then order by order.
        other = register_buyer(market)
        calls = [
            lambda: place_bid(
                market,
                buyer=other,
                instrument=listing.instrument,
                max_price_yen=400,
                purpose=PURPOSE,
            ),
            lambda: market.orders.enter_batch(participant=buyer, items=items),
        ]
        callers = _queued_together(market, calls)
        assert callers[0].error is None and callers[1].error is None
        expected.add(callers[0].result.bid.id)
        first, second = callers[1].result
    else:
        first, second = market.orders.enter_batch(participant=buyer, items=items)
    assert (first.status, second.status) == ("accepted", "rejected")
    assert second.problem is not None and second.problem["status"] == 500
    with Session(market.db) as session:
        keys = {r.key for r in session.exec(select(IdempotencyRecord)).all()}
    assert keys == {"order:ok"}
    assert {b.id for b in _bids(market)} == {first.order_id, *expected}
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()


def test_single_orders_of_one_batch_share_their_writes_and_answer_as_alone(
    market: Market,
) -> None:
    """Plain bids and cancels of several requests in one batch run without savepoints; each
    caller gets what it would alone, including a second cancel of the same bid and a per-order
    bid (naming a dataset) in the middle, which runs in a savepoint after the rows before it."""
    from market.errors import Conflict
    from tests.integration.test_bulk_entry import engine_statements

    _, dataset, listing = list_sensor_dataset(market, price_yen=1_000)
    first, second, third = (register_buyer(market) for _ in range(3))

    def bid(buyer: Any, price: int, **more: Any) -> Callable[[], Any]:
        return lambda: place_bid(
            market,
            buyer=buyer,
            instrument=listing.instrument,
            max_price_yen=price,
            purpose=PURPOSE,
            **more,
        )

    early = bid(second, 400)()
    later = bid(third, 300)()

    def cancel(buyer: Any, bid_id: str) -> Callable[[], Any]:
        return lambda: market.orders.cancel_bid(buyer=buyer, bid_id=bid_id)

    calls = [
        bid(first, 500),
        cancel(second, early.bid.id),
        cancel(second, early.bid.id),
        bid(first, 200, dataset_id=dataset.id),  # the per-order path, in a savepoint
        bid(first, 600),
        bid(third, 1_000),  # trades with the ask
        cancel(third, later.bid.id),
    ]
    with engine_statements(market) as statements, one_batch(market, calls) as callers:
        errors = [c.error for c in callers]
    assert [type(e).__name__ if e else None for e in errors] == [
        None,
        None,
        Conflict.__name__,
        None,
        None,
        None,
        None,
    ]
    results = [c.result for c in callers]
    assert results[1].status == "cancelled" and "cancelled" in str(errors[2])
    assert len(results[5].trades) == 1 and results[5].trades[0].buyer_id == third.id
    savepoints = [s for s in statements if s.startswith("SAVEPOINT")]
    assert len(savepoints) == 1, "only the per-order bid runs in a savepoint"
    stored = {b.id: b.status for b in _bids(market)}
    assert stored[early.bid.id] == "cancelled" and stored[later.bid.id] == "cancelled"
    assert stored[results[0].bid.id] == stored[results[4].bid.id] == "open"
    assert stored[results[3].bid.id] == "open" and stored[results[5].bid.id] == "filled"
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()


def test_resting_bids_of_one_batch_are_inserted_by_one_statement(market: Market) -> None:
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyers = [register_buyer(market) for _ in range(4)]
    calls = [
        (
            lambda b=buyer, p=price: place_bid(
                market, buyer=b, instrument=listing.instrument, max_price_yen=p, purpose=PURPOSE
            )
        )
        for buyer, price in zip(buyers, [100, 200, 300, 400], strict=True)
    ]
    from tests.integration.test_bulk_entry import engine_statements

    with engine_statements(market) as statements, one_batch(market, calls) as callers:
        assert [c.error for c in callers] == [None] * 4
    assert not [s for s in statements if s.startswith("SAVEPOINT")]
    assert len([s for s in statements if s.startswith("INSERT INTO bid ")]) == 1
    # The opener's clock tick ran alone before; the batch's ticks and bids share one insert.
    journal = [s for s in statements if s.startswith("INSERT INTO journalcommand")]
    assert len(journal) == 2
    assert journal[1].count("(?, ?, ?)") + journal[1].count("payload__") == 8
    assert {b.id for b in _bids(market)} == {c.result.bid.id for c in callers}


def test_rows_of_a_batch_that_cannot_be_written_replay_every_job_alone(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's shared writer fails at the end: nothing of the batch commits, the engine is
    rebuilt, and each job runs again alone (and succeeds)."""
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyers = [register_buyer(market) for _ in range(3)]
    real = market.trading.insert_journal
    failures = []

    def fails_once(session: Session, journal: list[dict[str, Any]]) -> None:
        if len(journal) > 2 and not failures:
            failures.append(len(journal))
            raise RuntimeError("the disk is full")
        real(session, journal)

    monkeypatch.setattr(market.trading, "insert_journal", fails_once)
    calls = [
        (
            lambda b=buyer, p=price: place_bid(
                market, buyer=b, instrument=listing.instrument, max_price_yen=p, purpose=PURPOSE
            )
        )
        for buyer, price in zip(buyers, [100, 200, 300], strict=True)
    ]
    callers = _queued_together(market, calls)
    assert failures, "the batch's shared write did not run"
    assert [c.error for c in callers] == [None] * 3
    assert {b.id for b in _bids(market)} == {c.result.bid.id for c in callers}
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()


def test_a_failed_write_inside_a_job_replays_the_batch_instead_of_failing_that_job(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second cancel of one bid writes the first's waiting rows before it reads the bid; when
    that write fails, the waiting rows stand for engine work: the batch replays alone, and the
    second cancel is refused as it would be alone (not failed with the write's error)."""
    from market.errors import Conflict

    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer = register_buyer(market)
    resting = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=300, purpose=PURPOSE
    )
    real = market.trading.insert_journal
    failures = []

    def fails_once(session: Session, journal: list[dict[str, Any]]) -> None:
        if journal and not failures:
            failures.append(len(journal))
            raise RuntimeError("the disk is full")
        real(session, journal)

    def cancel() -> Any:
        return market.orders.cancel_bid(buyer=buyer, bid_id=resting.bid.id)

    monkeypatch.setattr(market.trading, "insert_journal", fails_once)
    callers = _queued_together(market, [cancel, cancel])
    assert failures, "the waiting rows were not written before the second cancel"
    assert callers[0].error is None and callers[0].result.status == "cancelled"
    assert isinstance(callers[1].error, Conflict)
    assert {b.id: b.status for b in _bids(market)} == {resting.bid.id: "cancelled"}
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()


def test_a_fast_cancel_nested_in_another_job_keeps_the_journal_in_engine_order(
    market: Market,
) -> None:
    """Bulk entry's cancel reached from inside another job (as `POST /orders/batch` reaches it)
    writes its journal row at once: the batch's shared rows are only for jobs of their own."""
    _, _, listing = list_sensor_dataset(market, price_yen=1_000)
    buyer, other = register_buyer(market), register_buyer(market)
    resting = place_bid(
        market, buyer=buyer, instrument=listing.instrument, max_price_yen=300, purpose=PURPOSE
    )

    def cancel_then_tick(session: Session) -> None:
        market.orders._bid_cancel_work(buyer, resting.bid.id)(session)
        market.orders.submit(session, None)  # a clock tick journaled after the cancel

    with market.trading.lock:
        journal_before = len(_journal(market))
    calls = [
        lambda: place_bid(
            market, buyer=other, instrument=listing.instrument, max_price_yen=200, purpose=PURPOSE
        ),
        lambda: market.orders.transaction(cancel_then_tick),
    ]
    with one_batch(market, calls) as callers:
        assert [c.error for c in callers] == [None, None]
    kinds = [row.get("op") for row in _journal(market)[journal_before:]]
    cancel_at = kinds.index("cancel")
    assert "clock" in kinds[cancel_at + 1 :], kinds
    rebuilt = TradingService()
    rebuilt.rebuild(market.db, use_snapshot=False)
    assert rebuilt.state_hash() == market.trading.state_hash()
