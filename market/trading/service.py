"""The trading service: drives the matching engine, journals every command and books trades.

The engine is pure and in memory; the journal (`JournalCommand`) is the durable truth. Each command
is applied under one lock and journaled, with the trades it produced, in the same transaction.
Snapshots of the engine (`EngineSnapshot`) are written every `snapshot_interval` journaled
commands, or every as many commands as the book holds orders when it holds more (`snapshot_due`);
on start, and after any failed transaction, `rebuild` restores the newest snapshot and
replays only the journal rows after it.
"""

import gc
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlalchemy import delete, insert, select
from sqlmodel import Session, col

import matching
from market import db
from market.errors import OrderRejected
from market.models import JournalCommand, utcnow
from market.trading.ownership import EngineOwnership
from market.trading.tables import EngineSnapshot

Clock = Callable[[], int]
log = logging.getLogger("datamarket.trading")

# Snapshots kept: the newest is restored; the one before stands in if it cannot be read.
SNAPSHOTS_KEPT = 2
REPLAY_BATCH = 10_000


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Restored:
    """How a rebuild went: the snapshot it started from (0: none) and the rows it replayed."""

    snapshot_seq: int
    replayed: int


@dataclass(frozen=True)
class Journaled:
    """A journal row inserted with Core (`insert_journal`): only its seq is kept."""

    seq: int


@dataclass(frozen=True)
class PendingSnapshot:
    """An engine snapshot taken under the lock, to encode and store outside it."""

    seq: int
    state_hash: str
    data: dict[str, Any]


class TradingService:
    """One in-memory matching engine per market process, with its journal in the database."""

    def __init__(self, clock: Clock = epoch_ms, snapshot_interval: int = 10_000) -> None:
        self.engine = matching.Engine()
        self.lock = threading.RLock()
        self._clock = clock
        self.snapshot_interval = snapshot_interval
        self.modes: dict[str, tuple[str, int | None]] = {}
        # Set when a command reaches the engine, so a failed transaction knows to rebuild it.
        self.touched = False
        # The journal row the engine's state ends at, and rows journaled since the last snapshot.
        self.applied_seq = 0
        self.since_snapshot = 0
        self._pending: list[JournalCommand | Journaled] = []
        self._snapshot_lock = threading.Lock()

    def rebuild(self, db: DbEngine, use_snapshot: bool = True) -> Restored:
        """Replace the engine: the newest usable snapshot, then the journal rows after it.

        Every restore path calls this (start-up and failed transactions), so state kept beside
        the engine is rebuilt after it. `use_snapshot=False` replays the whole journal.
        """
        with collector_paused():
            return self._rebuild(db, use_snapshot)

    def _rebuild(self, db: DbEngine, use_snapshot: bool) -> Restored:
        engine, snapshot_seq = self._from_snapshot(db) if use_snapshot else (None, 0)
        if engine is None:
            engine, snapshot_seq = matching.Engine(), 0
            self.modes = {}
        applied, count = snapshot_seq, 0
        journal = JournalCommand.__table__.c  # type: ignore[attr-defined]
        query = (
            select(journal.seq, journal.format, journal.payload)
            .where(journal.seq > snapshot_seq)
            .order_by(journal.seq)
            .execution_options(yield_per=REPLAY_BATCH)
        )
        with db.connect() as connection:
            for seq, version, payload in connection.execute(query):
                self._observe(engine.apply(matching.command_from_dict(payload, version)))
                applied, count = seq, count + 1
        self.engine = engine
        self.applied_seq = applied
        self.since_snapshot = count
        self._pending = []
        self.touched = False
        return Restored(snapshot_seq, count)

    def _from_snapshot(self, db: DbEngine) -> tuple[Any, int]:
        """An engine restored from the newest snapshot that loads and hashes right, or None."""
        with Session(db) as session:
            rows = session.execute(
                select(EngineSnapshot)
                .where(col(EngineSnapshot.format) == matching.SNAPSHOT_FORMAT)
                .order_by(col(EngineSnapshot.seq).desc())
                .limit(SNAPSHOTS_KEPT)
            ).scalars()
            for row in rows:
                try:
                    data = json.loads(zlib.decompress(row.payload))
                    engine = matching.Engine()
                    engine.load_snapshot(data)
                except (ValueError, KeyError, TypeError, zlib.error) as exc:
                    log.warning("engine snapshot %s unreadable (%s)", row.seq, type(exc).__name__)
                    continue
                if engine.state_hash() != row.state_hash:
                    log.warning("engine snapshot %s has another state hash; skipped", row.seq)
                    continue
                self.modes = _modes_of(data)
                return engine, row.seq
        return None, 0

    def _observe(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, matching.ModeChanged):
                self.modes[event.instrument] = (event.mode.value, event.interval_ms)

    def has_timed_auctions(self) -> bool:
        """Whether any instrument runs call auctions on a timer."""
        return any(mode == "periodic" and interval for mode, interval in self.modes.values())

    def is_due(self) -> bool:
        """Whether a clock tick now would expire an order or run an auction."""
        with self.lock:
            due = self.engine.next_due_time()
        return due is not None and due <= self._clock()

    def submit(self, session: Session, command: Any | None) -> list[Any]:
        """Advance the engine clock, apply one command (if any) and journal both.

        The caller holds `lock` and commits `session`; the clock tick alone runs due auctions
        and expires orders past their time. A command carrying more than an order may is
        refused before it is journaled or reaches the engine.
        """
        if command is not None:
            problem = matching.size_problem(command)
            if problem is not None:
                raise OrderRejected(problem)
        self.touched = True
        events: list[Any] = []
        commands = [matching.Clock(now=self._clock())] + ([command] if command is not None else [])
        for cmd in commands:
            row = JournalCommand(
                payload=matching.command_to_dict(cmd), format=matching.COMMAND_FORMAT
            )
            session.add(row)
            self._pending.append(row)
            events.extend(self.engine.apply(cmd))
        self._observe(events)
        return events

    def submit_deferred(
        self, command: Any | None, journal: list[dict[str, Any]], *, tick: bool = True
    ) -> list[Any]:
        """`submit` whose journal rows are appended to `journal` instead of the session.

        For bulk entry (market/trading/bulk.py): one clock tick for many commands (`tick=False`
        after the first), their rows inserted together by `insert_journal`, in the same
        transaction and before any other journal row, so the journal keeps the engine's order.
        """
        if command is not None:
            problem = matching.size_problem(command)
            if problem is not None:
                raise OrderRejected(problem)
        self.touched = True
        events: list[Any] = []
        commands = ([matching.Clock(now=self._clock())] if tick else []) + (
            [command] if command is not None else []
        )
        for cmd in commands:
            journal.append(
                {
                    "payload": matching.command_to_dict(cmd),
                    "format": matching.COMMAND_FORMAT,
                    "created_at": utcnow(),
                }
            )
            events.extend(self.engine.apply(cmd))
        self._observe(events)
        return events

    def insert_journal(self, session: Session, journal: list[dict[str, Any]]) -> None:
        """Insert journal rows kept by `submit_deferred` (one executemany, sent as multi-row
        inserts), noting their seqs for `committed`."""
        if not journal:
            return
        seqs = session.execute(_journal_insert(), journal).scalars()
        self._pending.extend(Journaled(seq) for seq in seqs)
        journal.clear()

    def committed(self) -> None:
        """Note that the transaction's journal rows committed (the caller holds `lock`)."""
        seqs = [row.seq for row in self._pending if row.seq is not None]
        if seqs:
            self.applied_seq = max(self.applied_seq, *seqs)
        self.since_snapshot += len(self._pending)
        self._pending = []
        self.touched = False

    def discarded(self) -> None:
        """Forget journal rows of a transaction that rolled back."""
        self._pending = []

    def snapshot_due(self) -> bool:
        """Whether enough commands were journaled since the last snapshot to take one.

        At least `snapshot_interval`, and at least as many as the book holds orders: a snapshot
        costs time in proportion to the book, so spacing snapshots by the book's size keeps
        their cost per command bounded however large the book grows (docs/benchmarks.md). A
        restart then replays at most that many journal rows, which costs about as much again
        as loading the snapshot.
        """
        if self.since_snapshot < self.snapshot_interval:
            return False
        return self.since_snapshot >= self.live_orders()

    def live_orders(self) -> int:
        """How many orders rest in the engine's books (read without the lock: an estimate; the
        ticker asks at most once a second, and only once the interval has passed)."""
        return sum(len(book.live_orders_unsorted()) for book in list(self.engine.books.values()))

    def take_snapshot(self) -> PendingSnapshot | None:
        """The engine's state now, to store (None when nothing was journaled since the last).

        Only `Engine.capture()` runs under the trading lock. Turning the capture into JSON data
        (`matching.render_capture`) happens after it, while trading goes on. The state hash
        stored with it is that of a fresh engine loaded from it, computed outside the lock: the
        snapshot is proved to load before it is stored, and a restore that hashes differently
        is refused.
        The tests check that a loaded snapshot hashes as the live engine did.
        """
        with self.lock, collector_paused():
            if self.since_snapshot == 0 or self.applied_seq == 0:
                return None
            seq, captured = self.applied_seq, self.engine.capture()
            self.since_snapshot = 0
        with collector_paused():
            data = matching.render_capture(captured)
            loaded = matching.Engine()
            loaded.load_snapshot(data)
            return PendingSnapshot(seq, loaded.state_hash(), data)

    def write_snapshot(self, db_engine: DbEngine, owner: EngineOwnership | None = None) -> int:
        """Snapshot the engine and store it; returns the journal seq it covers (0: none written).

        Encoding and storing happen outside the trading lock; trading goes on meanwhile.
        """
        if not self._snapshot_lock.acquire(blocking=False):
            return 0
        try:
            pending = self.take_snapshot()
            if pending is None:
                return 0
            payload = zlib.compress(
                json.dumps(pending.data, separators=(",", ":")).encode(), level=1
            )
            with db.unit_of_work(db_engine) as session:
                if owner is not None:
                    owner.fence(session)
                if session.get(EngineSnapshot, pending.seq) is None:
                    session.add(
                        EngineSnapshot(
                            seq=pending.seq,
                            format=matching.SNAPSHOT_FORMAT,
                            state_hash=pending.state_hash,
                            payload=payload,
                        )
                    )
                kept = session.execute(
                    select(EngineSnapshot.seq)  # type: ignore[call-overload]
                    .order_by(col(EngineSnapshot.seq).desc())
                    .limit(SNAPSHOTS_KEPT)
                ).scalars()
                floor = min([*kept, pending.seq])
                session.execute(delete(EngineSnapshot).where(col(EngineSnapshot.seq) < floor))
            return pending.seq
        finally:
            self._snapshot_lock.release()

    def state_hash(self) -> str:
        return str(self.engine.state_hash())


@cache
def _journal_insert() -> Any:
    """The journal rows' insert, built once (every order writes some)."""
    table = JournalCommand.__table__  # type: ignore[attr-defined]
    return insert(table).returning(table.c.seq)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large engine is built or copied.

    Restoring a book allocates hundreds of thousands of small long-lived objects, and each
    full collection on the way would rescan all of them: with the collector on, loading a
    100,000-order snapshot takes four times as long (docs/benchmarks.md).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _modes_of(snapshot: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """Each instrument's trading mode and auction interval, as recorded in a snapshot."""
    modes: dict[str, tuple[str, int | None]] = {}
    for book in snapshot["books"]:
        schedule = book["schedule"]
        mode = "continuous" if book["continuous"] else "periodic"
        modes[book["instrument"]] = (mode, None if schedule is None else int(schedule[0]))
    return modes
