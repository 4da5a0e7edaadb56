"""The outbox publisher: indexed reads, background publication, at-least-once order, pruning."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from market import db
from market.events import EventBus, InProcessBus, RedisStreamBus, record_event
from market.models import OutboxEvent
from market.outbox import OutboxPublisher, prune_delivered, publish_pending
from market.service import Market
from market.settings import Settings


@pytest.fixture
def engine(settings: Settings) -> Iterator[Any]:
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    yield engine
    engine.dispose()


def _record(engine: Any, *events: tuple[str, dict[str, Any]]) -> None:
    with db.unit_of_work(engine) as session:
        for event_type, payload in events:
            record_event(session, event_type, payload)


def _unpublished(engine: Any) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(
            session.exec(select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None)))
        )


def _wait_for(condition: Any, seconds: float = 20.0) -> bool:
    """Poll until `condition()` holds (a bound on waiting, not a timing assertion)."""
    done = threading.Event()
    for _ in range(int(seconds / 0.02)):
        if condition():
            return True
        done.wait(0.02)
    return bool(condition())


def _publisher(engine: Any, bus: EventBus, **options: Any) -> OutboxPublisher:
    """A publisher on `engine` and `bus` that polls once a minute: only a commit or a signal
    wakes it within a test. Retention is an hour unless `options` say otherwise."""
    return OutboxPublisher(
        db=engine,
        bus=lambda: bus,
        lock=threading.Lock(),
        **{"retention": timedelta(hours=1), "poll_seconds": 60.0, **options},
    )


class FlakyBus(InProcessBus):
    """A bus whose broker drops the connection on the n-th publication."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.calls = 0
        self.fail_at = fail_at

    def publish(self, event_id: int, event_type: str, payload: dict[str, Any]) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("broker down")
        super().publish(event_id, event_type, payload)


def test_unpublished_ids_are_read_through_the_index(engine: Any) -> None:
    # The publisher's read (market/outbox.py publish_pending).
    query = (
        "SELECT id, type, payload FROM outboxevent WHERE published_at IS NULL ORDER BY id LIMIT 500"
    )
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1]) for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            )
            # Either outbox index answers in id order (SQLite's rowid follows each index key).
            assert "INDEX ix_outboxevent_" in plan
            assert "TEMP B-TREE" not in plan
        else:
            # An empty table favours other plans; the point is that the index answers in order.
            connection.exec_driver_sql("SET enable_seqscan = off")
            connection.exec_driver_sql("SET enable_bitmapscan = off")
            plan = " ".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {query}"))
            assert "ix_outboxevent_unpublished" in plan
            assert "Sort" not in plan


@pytest.fixture(params=["in_process", pytest.param("redis", marks=pytest.mark.redis)])
def bus(request: pytest.FixtureRequest) -> EventBus:
    if request.param == "in_process":
        return InProcessBus()
    client, prefix = request.getfixturevalue("redis_client")
    return RedisStreamBus(client, prefix)


def test_publication_goes_in_id_order_and_marks_what_went_out(engine: Any, bus: EventBus) -> None:
    _record(engine, *[("OrderPlaced", {"order": "a", "n": n}) for n in range(3)])
    _record(
        engine, ("OrderPlaced", {"order": "b", "n": 0}), ("OrderPlaced", {"order": "a", "n": 3})
    )
    assert publish_pending(engine, bus, batch=2) == 2
    assert publish_pending(engine, bus) == 3
    assert publish_pending(engine, bus) == 0
    published = [payload for _, payload in bus.read_recent(10)]
    assert [p["n"] for p in published if p["order"] == "a"] == [0, 1, 2, 3]
    assert _unpublished(engine) == []


def test_a_bus_failure_keeps_the_rest_for_the_next_pass_in_order(engine: Any) -> None:
    _record(engine, *[("TradeExecuted", {"n": n}) for n in range(5)])
    bus = FlakyBus(fail_at=3)
    with pytest.raises(ConnectionError):
        publish_pending(engine, bus)
    assert [e.payload["n"] for e in _unpublished(engine)] == [2, 3, 4]
    assert publish_pending(engine, bus) == 3
    assert [payload["n"] for _, payload in bus.read_recent(10)] == [0, 1, 2, 3, 4]


def test_delivered_events_past_retention_are_pruned_and_pending_ones_kept(engine: Any) -> None:
    _record(engine, ("A", {"n": 1}), ("B", {"n": 2}))
    publish_pending(engine, InProcessBus())
    _record(engine, ("C", {"n": 3}))
    assert prune_delivered(engine, older_than=timedelta(hours=1)) == 0
    assert prune_delivered(engine, older_than=timedelta(0), batch=1) == 2
    with Session(engine) as session:
        left = session.exec(select(OutboxEvent)).all()
    assert [(e.type, e.published_at) for e in left] == [("C", None)]


def test_the_background_publisher_publishes_after_a_commit(engine: Any) -> None:
    bus = InProcessBus()
    publisher = _publisher(engine, bus, retention=timedelta(0), prune_every=timedelta(0))
    publisher.start()
    try:
        # Woken by the committed session (the poll alone would wait a minute).
        _record(engine, ("ParticipantRegistered", {"n": 1}))
        assert _wait_for(lambda: bus.read_recent(5) == [("ParticipantRegistered", {"n": 1})])
        # Delivered rows go with the next pass once past retention (here: at once).
        _record(engine, ("ParticipantRegistered", {"n": 2}))
        assert _wait_for(lambda: publisher.pruned >= 1)
    finally:
        publisher.stop()
    assert len(bus.read_recent(5)) == 2
    assert _unpublished(engine) == []


def test_a_commit_through_core_is_published_after_a_signal(engine: Any) -> None:
    bus = InProcessBus()
    publisher = _publisher(engine, bus)
    publisher.start()
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO outboxevent (type, payload, created_at) VALUES (:t, :p, :c)"),
                {"t": "BatchCommitted", "p": '{"n": 1}', "c": "2026-12-02 00:00:00+00:00"},
            )
        publisher.signal()
        assert _wait_for(lambda: [t for t, _ in bus.read_recent(5)] == ["BatchCommitted"])
    finally:
        publisher.stop()


def test_the_market_runs_the_publisher_and_stops_it_on_close(settings: Settings) -> None:
    bus = InProcessBus()
    market = Market(settings, bus=bus).start()
    try:
        thread = market.outbox._thread
        assert thread is not None and thread.is_alive()
        market.accounts.register(name="Publisher test", kind="business")
        assert _wait_for(lambda: "ParticipantRegistered" in {t for t, _ in bus.read_recent(10)})
    finally:
        market.close()
    assert not thread.is_alive()


def test_one_wake_up_publishes_every_full_batch_and_the_rest(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass reads again only after a full batch: five events in batches of two take three
    reads, and the last, short one ends the pass."""
    monkeypatch.setattr("market.outbox.PUBLISH_BATCH", 2)
    bus = InProcessBus()
    publisher = _publisher(engine, bus, gather_seconds=0.0)
    _record(engine, *[("ParticipantRegistered", {"n": n}) for n in range(5)])
    publisher.start()
    try:
        publisher.signal()
        assert _wait_for(lambda: publisher.published == 5)
    finally:
        publisher.stop()
    assert [p["n"] for _, p in bus.read_recent(10)] == [0, 1, 2, 3, 4]
    assert _unpublished(engine) == []
