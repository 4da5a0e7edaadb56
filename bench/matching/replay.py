"""Seeded replay of the mixed command stream on every build and book: they must agree.

The stream (`stream.mixed_stream`) holds every command kind on a continuous instrument and a
thin periodic one. Each engine gets the stream built from its own build's classes; the final
state hash and a digest of every event must be the same for the compiled fast book, the
interpreted fast book and the reference book.
"""

import hashlib
import importlib
import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench.matching.stream import mixed_stream

BATCH = 10_000
SEED = 20261127


def replay(api: ModuleType, factory: Any, messages: int, seed: int) -> dict[str, Any]:
    """Apply the stream; the state hash, the event digest and counts, and the seconds taken."""
    commands = mixed_stream(api, seed, messages)
    engine = api.Engine(factory)
    digest = hashlib.sha256()
    events = trades = 0
    start = time.perf_counter()
    for first in range(0, len(commands), BATCH):
        for event in engine.apply_many(commands[first : first + BATCH]):
            digest.update(repr(event).encode())
            events += 1
            trades += isinstance(event, api.TradeExecuted)
        engine.validate_internal_state()
    seconds = time.perf_counter() - start
    return {
        "state_hash": engine.state_hash(),
        "events_sha256": digest.hexdigest(),
        "events": events,
        "trades": trades,
        "seconds": round(seconds, 2),
    }


def engines(reference: bool) -> dict[str, Callable[[int, int], dict[str, Any]]]:
    """The engines to replay on, by name (each loads its build lazily)."""
    import matching
    import matching.exports as interpreted
    import matching.reference as interpreted_reference

    chosen: dict[str, Callable[[int, int], dict[str, Any]]] = {}
    if matching.COMPILED:
        compiled_reference = importlib.import_module("matching._native.reference")
        chosen["compiled_fast"] = lambda n, s: replay(matching, None, n, s)
        if reference:
            chosen["compiled_reference"] = lambda n, s: replay(
                matching, compiled_reference.ReferenceBook, n, s
            )
    chosen["interpreted_fast"] = lambda n, s: replay(interpreted, None, n, s)
    if reference and not matching.COMPILED:
        chosen["interpreted_reference"] = lambda n, s: replay(
            interpreted, interpreted_reference.ReferenceBook, n, s
        )
    return chosen


def run(messages: int, seed: int = SEED, reference: bool = True) -> dict[str, Any]:
    """Replay on every engine and say whether they agree."""
    results = {name: go(messages, seed) for name, go in engines(reference).items()}
    outcomes = {(r["state_hash"], r["events_sha256"]) for r in results.values()}
    return {"messages": messages, "seed": seed, "agree": len(outcomes) == 1, "engines": results}


def main(messages: int, seed: int, reference: bool, as_json: bool) -> bool:
    """Run and print; with `as_json` the last line is one JSON object. True when all agree."""
    figures = run(messages, seed, reference)
    print(json.dumps(figures) if as_json else json.dumps(figures, indent=2))
    return bool(figures["agree"])
