"""The outbox publisher: committed events go to the bus in id order, delivered ones are pruned.

Delivery is at least once: an event is marked published only after the bus took it, so a crash
in between publishes it again. One publisher at a time (a lock shared with synchronous callers)
reads the unpublished ids in id order from a partial index holding only them, so a late commit
of a lower id is still published, after the higher ids already out. Events of one aggregate are
written by transactions that follow one another (the engine lock serializes trading), so their
ids, and so their publication, keep the aggregate's order.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Select, Update, bindparam, delete, event, select, update
from sqlalchemy.orm import Session as OrmSession

from market import db
from market.models import OutboxEvent, utcnow

if TYPE_CHECKING:
    from market.events import EventBus

log = logging.getLogger("datamarket.outbox")

_table = OutboxEvent.__table__  # type: ignore[attr-defined]
# Set on a session that flushed new outbox events: its commit wakes the publisher.
NEW_EVENTS = "outbox_new_events"


def _note_new_events(session: OrmSession, _context: object) -> None:
    if any(isinstance(row, OutboxEvent) for row in session.new):
        session.info[NEW_EVENTS] = True


# Always on once imported: it only marks the session.
event.listen(OrmSession, "after_flush", _note_new_events)


# Events read and published per statement.
PUBLISH_BATCH = 500


def publish_pending(engine: Engine, bus: "EventBus", batch: int = PUBLISH_BATCH) -> int:
    """Publish unpublished outbox events in id order and mark them; returns how many.

    One statement reads them through the unpublished index. If the bus fails part way, the
    events it took are still marked and the error is raised.
    """
    with engine.connect() as connection:
        rows = connection.execute(_unpublished(), {"batch": batch}).all()
    if not rows:
        return 0
    delivered: list[int] = []
    try:
        for row in rows:
            bus.publish(row.id, row.type, row.payload)
            delivered.append(row.id)
    finally:
        if delivered:
            _mark_published(engine, delivered)
    return len(delivered)


def _mark_published(engine: Engine, ids: list[int]) -> None:
    with _writing(engine) as connection:
        connection.execute(_mark(), {"ids": ids, "at": utcnow()})


@cache
def _unpublished() -> Select[Any]:
    """The oldest unpublished events, bound to `batch` (built once: a pass after every trade
    spent a fifth of its time building its statements)."""
    return (
        select(_table.c.id, _table.c.type, _table.c.payload)
        .where(_table.c.published_at.is_(None))
        .order_by(_table.c.id)
        .limit(bindparam("batch"))
    )


@cache
def _mark() -> Update:
    """Mark the events `ids` published `at`."""
    return (
        update(_table)
        .where(_table.c.id.in_(bindparam("ids", expanding=True)))
        .values(published_at=bindparam("at"))
    )


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (on SQLite it takes the write lock at BEGIN, as units of work do)."""
    options = {"sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
    with engine.connect() as connection, connection.execution_options(**options).begin():
        yield connection


def prune_delivered(engine: Engine, *, older_than: timedelta, batch: int = 5_000) -> int:
    """Delete events published more than `older_than` ago, a batch per transaction; how many."""
    cutoff = utcnow() - older_than
    removed = 0
    while True:
        # Read first without the write lock: most passes find nothing to delete.
        with engine.connect() as connection:
            ids = list(
                connection.execute(
                    select(_table.c.id)
                    .where(_table.c.published_at.is_not(None), _table.c.published_at < cutoff)
                    .limit(batch)
                ).scalars()
            )
        if ids:
            with _writing(engine) as connection:
                connection.execute(delete(_table).where(_table.c.id.in_(ids)))
        removed += len(ids)
        if len(ids) < batch:
            return removed


class OutboxPublisher:
    """A background thread that publishes the outbox after commits and prunes delivered rows.

    Woken by every committed ORM session on its database that added outbox events (and by
    `signal()`, for work that commits through Core), and at least every `poll_seconds` in case a
    wake-up was missed. Once woken it waits `gather_seconds` more, so the commits of a busy
    moment are published in one pass rather than one pass each (each pass takes the GIL from
    the engine thread and the request handlers). After a bus failure it waits `retry_seconds`
    (doubling up to a minute) before trying again.
    """

    def __init__(
        self,
        *,
        db: Engine,
        bus: Callable[[], "EventBus"],
        lock: threading.Lock,
        retention: timedelta,
        poll_seconds: float = 0.5,
        gather_seconds: float = 0.02,
        retry_seconds: float = 1.0,
        prune_every: timedelta = timedelta(seconds=10),
    ) -> None:
        self._db = db
        self._bus = bus
        self._lock = lock
        self.retention = retention
        self._poll_seconds = poll_seconds
        self._gather_seconds = gather_seconds
        self._retry_seconds = retry_seconds
        self._prune_every = prune_every
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_prune = utcnow() - prune_every
        self.published = 0
        self.pruned = 0

    def start(self) -> None:
        """Start the thread and listen for commits on the database."""
        if self._thread is not None:
            return
        self._stop.clear()
        event.listen(OrmSession, "after_commit", self._after_commit)
        self._thread = threading.Thread(target=self._run, name="outbox-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after a last publication of what is committed."""
        if self._thread is None:
            return
        if event.contains(OrmSession, "after_commit", self._after_commit):
            event.remove(OrmSession, "after_commit", self._after_commit)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def signal(self) -> None:
        """Something committed events: publish them soon."""
        self._wake.set()

    def _after_commit(self, session: OrmSession) -> None:
        if db.bound_to(session, self._db) and session.info.pop(NEW_EVENTS, False):
            self._wake.set()

    def _run(self) -> None:
        delay = self._retry_seconds
        while True:
            if self._wake.wait(self._poll_seconds) and self._gather_seconds > 0:
                self._stop.wait(self._gather_seconds)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:
                self._drain()
                self._prune_if_due()
                delay = self._retry_seconds
            except Exception as exc:
                log.warning("event publication deferred: %s", type(exc).__name__)
                if not stopping and self._stop.wait(delay):
                    stopping = True
                delay = min(delay * 2, 60.0)
            if stopping:
                return

    def _drain(self) -> None:
        """Publish until a read finds less than a full batch. An event committed meanwhile
        wakes the publisher again (the wake-up was cleared before this pass began), so no read
        is spent only to find nothing."""
        while True:
            with self._lock:
                count = publish_pending(self._db, self._bus(), PUBLISH_BATCH)
            self.published += count
            if count < PUBLISH_BATCH:
                return

    def _prune_if_due(self) -> None:
        now = utcnow()
        if now - self._last_prune < self._prune_every:
            return
        self._last_prune = now
        self.pruned += prune_delivered(self._db, older_than=self.retention)
