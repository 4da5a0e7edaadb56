"""Engine start-up: a journal of N commands and a large book, restored from its newest snapshot
plus the journal tail, against replaying the whole journal, in one run.

The journal is written straight into a fresh database (format 2 rows, as the market writes
them) and the snapshot through the market's own `TradingService.write_snapshot`, taken
`tail` commands before the end: by default the longest tail the snapshot policy allows, twice
the larger of the interval and the book's size (the ticker snapshots once that many commands have
been journaled, `TradingService.snapshot_due`; a crash while that snapshot is written leaves the
previous one as far again back). Then `Market.start()`
is timed (migrate check, owner lock, snapshot load and hash check, tail replay, job resume),
in wall-clock and in this process's CPU seconds (the machine is shared), and then `TradingService.rebuild(use_snapshot=False)` (full replay) on the same database; both
must reach the state hash of the stream applied in memory.
"""

import gc
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import Session

import matching
from bench.startup.stream import resting_stream
from market.events import InProcessBus
from market.models import JournalCommand
from market.service import Market
from market.settings import Settings
from market.trading.service import collector_paused
from market.trading.tables import EngineSnapshot

BATCH = 20_000


def _settings(folder: Path, database_url: str | None) -> Settings:
    return Settings(
        environment="test",
        data_dir=folder / "var",
        database_url=database_url or f"sqlite:///{folder / 'market.db'}",
        master_key="11" * 32,
        redis_url=None,
    )


def _write_journal(market: Market, commands: list[Any]) -> None:
    """Journal rows as the market writes them, in batches."""
    table = JournalCommand.__table__  # type: ignore[attr-defined]
    written = datetime.now(UTC)
    with market.db.begin() as connection:
        for first in range(0, len(commands), BATCH):
            rows = [
                {
                    "payload": matching.command_to_dict(c),
                    "format": matching.COMMAND_FORMAT,
                    "created_at": written,
                }
                for c in commands[first : first + BATCH]
            ]
            connection.execute(insert(table), rows)


def _snapshot_parts(engine: Any, rounds: int = 3) -> tuple[float, float, float]:
    """The best of `rounds` (alternating, so neither always runs on warm caches) of: the capture
    `write_snapshot` takes under the trading lock, rendering it to JSON data after the lock,
    and the whole `Engine.snapshot()`, which ran under the lock before the capture existed."""
    capture, render, whole = [], [], []
    with collector_paused():
        for _ in range(rounds):
            started = time.perf_counter()
            engine.snapshot()
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            captured = engine.capture()
            capture.append(time.perf_counter() - started)
            started = time.perf_counter()
            matching.render_capture(captured)
            render.append(time.perf_counter() - started)
            del captured
    return min(capture), min(render), min(whole)


def prepare(market: Market, commands: list[Any], tail: int) -> dict[str, Any]:
    """Journal the stream and snapshot the engine `tail` commands before its end."""
    head = len(commands) - tail
    engine = matching.Engine()
    engine.apply_many(commands[:head])
    market.trading.engine = engine
    market.trading.applied_seq = head
    market.trading.since_snapshot = head
    under_lock, rendering, whole = _snapshot_parts(engine)
    started = time.perf_counter()
    covered = market.trading.write_snapshot(market.db)
    snapshot_seconds = time.perf_counter() - started
    engine.apply_many(commands[head:])
    with Session(market.db) as session:
        size = session.execute(select(func.length(EngineSnapshot.payload))).scalar_one()
    return {
        "snapshot_seq": covered,
        "snapshot_bytes": int(size),
        "snapshot_write_seconds": round(snapshot_seconds, 2),
        "snapshot_under_lock_seconds": round(under_lock, 2),
        "snapshot_rendering_seconds": round(rendering, 2),
        "snapshot_whole_seconds": round(whole, 2),
        "resting_orders": sum(len(b.live_orders()) for b in engine.books.values()),
        "state_hash": engine.state_hash(),
    }


def run(
    commands: int, resting: int, tail: int | None, database_url: str | None, seed: int = 1
) -> dict[str, Any]:
    """Build the journal and snapshot, then time start-up and full replay."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        settings = _settings(Path(folder), database_url)
        if tail is None:
            tail = 2 * max(settings.engine_snapshot_interval, resting)
        stream = resting_stream(seed, commands, resting)
        setup = Market(settings, bus=InProcessBus())
        setup.migrate()
        _write_journal(setup, stream)
        prepared = prepare(setup, stream, min(tail, len(stream) - 1))
        setup.close()
        del stream
        gc.collect()

        market = Market(settings, bus=InProcessBus())
        started, cpu = time.perf_counter(), time.process_time()
        market.start()
        startup, startup_cpu = time.perf_counter() - started, time.process_time() - cpu
        restored_hash = market.trading.state_hash()
        with Session(market.db) as session:
            journal_rows = session.execute(
                select(func.count()).select_from(JournalCommand)
            ).scalar_one()

        started, cpu = time.perf_counter(), time.process_time()
        market.trading.rebuild(market.db, use_snapshot=False)
        full, full_cpu = time.perf_counter() - started, time.process_time() - cpu
        full_hash = market.trading.state_hash()
        market.close()
    return {
        "commands": journal_rows,
        "tail": journal_rows - prepared["snapshot_seq"],
        **prepared,
        "startup_seconds": round(startup, 2),
        "startup_cpu_seconds": round(startup_cpu, 2),
        "full_replay_seconds": round(full, 2),
        "full_replay_cpu_seconds": round(full_cpu, 2),
        "same_state": restored_hash == full_hash == prepared["state_hash"],
        "compiled": matching.COMPILED,
        "database": "postgresql" if database_url and "postgres" in database_url else "sqlite",
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main(
    commands: int = 1_000_000,
    resting: int = 100_000,
    tail: int | None = None,
    database_url: str | None = None,
    as_json: bool = False,
) -> bool:
    """Run, print the figures; True when start-up and full replay reached the same state."""
    result = run(commands, resting, tail, database_url)
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    if as_json:
        print(json.dumps(result))
    return bool(result["same_state"])
