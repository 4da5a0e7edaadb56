"""The trading service: drives the matching engine, journals every command and books trades.

The engine is pure and in memory; the journal (`JournalCommand`) is the durable truth. Each command
is applied under one lock and journaled, with the trades it produced, in the same transaction; on
start, and after any failed transaction, the engine is rebuilt by replaying the journal.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine as DbEngine
from sqlmodel import Session, select

import matching
from market.models import JournalCommand

Clock = Callable[[], int]


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class TradingService:
    """One in-memory matching engine per market process, with its journal in the database."""

    def __init__(self, clock: Clock = epoch_ms) -> None:
        self.engine = matching.Engine()
        self.lock = threading.RLock()
        self._clock = clock
        self.modes: dict[str, tuple[str, int | None]] = {}
        # Set when a command reaches the engine, so a failed transaction knows to rebuild it.
        self.touched = False

    def rebuild(self, db: DbEngine) -> int:
        """Replace the engine by replaying the whole journal; returns the commands replayed."""
        engine = matching.Engine()
        self.modes = {}
        count = 0
        with Session(db) as session:
            rows = session.exec(select(JournalCommand).order_by(JournalCommand.seq))  # type: ignore[arg-type]
            for row in rows:
                self._observe(engine.apply(matching.command_from_dict(row.payload)))
                count += 1
        self.engine = engine
        return count

    def _observe(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, matching.ModeChanged):
                self.modes[event.instrument] = (event.mode.value, event.interval_ms)

    def has_timed_auctions(self) -> bool:
        """Whether any instrument runs call auctions on a timer, so the clock must tick."""
        return any(mode == "periodic" and interval for mode, interval in self.modes.values())

    def submit(self, session: Session, command: Any | None) -> list[Any]:
        """Advance the engine clock, apply one command (if any) and journal both.

        The caller holds `lock` and commits `session`; the clock tick alone runs due auctions
        and expires orders past their time.
        """
        self.touched = True
        events: list[Any] = []
        commands = [matching.Clock(now=self._clock())] + ([command] if command is not None else [])
        for cmd in commands:
            session.add(JournalCommand(payload=matching.command_to_dict(cmd)))
            events.extend(self.engine.apply(cmd))
        self._observe(events)
        return events

    def state_hash(self) -> str:
        return str(self.engine.state_hash())
