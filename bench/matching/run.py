"""Matching benchmark: our engine against two peers on the same seeded stream, in one process.

Every timed section runs with the garbage collector paused after a full collection, the same
for every engine (a long-lived book is many small objects the cyclic collector would keep
rescanning); our engine is also timed with the collector on, for reference. The machine is
shared, so throughput is measured in ROUNDS interleaved rounds (each engine once per round,
on a fresh book, the starting engine rotating) and each engine's best round is reported, with
every round alongside.
"""

import gc
import json
import platform
import statistics
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench.matching.peers import prepare_pyorderbook, run_minimal, run_pyorderbook
from bench.matching.stream import benchmark_stream

BATCH = 10_000
ROUNDS = 5


def timed(action: Callable[[], Any], collector: bool = False) -> float:
    """Seconds taken by `action`, with the garbage collector paused unless `collector`."""
    gc.collect()
    if not collector:
        gc.disable()
    try:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start
    finally:
        gc.enable()


def throughput(
    api: ModuleType, commands: list[Any], resting: int, collector: bool = False
) -> float:
    """Messages per second after the resting orders, applied in batches."""
    engine = api.Engine()
    engine.apply_many(commands[:resting])
    body = commands[resting:]

    def drive() -> None:
        for start in range(0, len(body), BATCH):
            engine.apply_many(body[start : start + BATCH])

    return len(body) / timed(drive, collector)


def pyorderbook_seconds(peers: list[tuple[int, str, bool, int, int]]) -> float:
    """Seconds pyorderbook takes on the stream (its orders are filled in place: fresh ones)."""
    prepared = prepare_pyorderbook(peers)
    return timed(lambda: run_pyorderbook(prepared))


def latencies(api: ModuleType, commands: list[Any], resting: int) -> dict[str, float]:
    """p50, p99 and p99.9 of single-message latency in microseconds (one clock read per message)."""
    engine = api.Engine()
    engine.apply_many(commands[:resting])
    apply = engine.apply
    clock = time.perf_counter_ns
    samples = [0] * (len(commands) - resting)

    def drive() -> None:
        for index, command in enumerate(commands[resting:]):
            start = clock()
            apply(command)
            samples[index] = clock() - start

    timed(drive)
    cuts = statistics.quantiles(samples, n=1000, method="inclusive")
    return {"p50_us": cuts[499] / 1000, "p99_us": cuts[989] / 1000, "p99_9_us": cuts[998] / 1000}


def stream_outcome(api: ModuleType, commands: list[Any], resting: int) -> tuple[float, int]:
    """Share of cancels that found a live order, and trades after the resting orders."""
    engine = api.Engine()
    engine.apply_many(commands[:resting])
    events = engine.apply_many(commands[resting:])
    cancelled = sum(1 for e in events if isinstance(e, api.Cancelled) and e.reason == "cancelled")
    missed = sum(1 for e in events if isinstance(e, api.Rejected))
    trades = sum(1 for e in events if isinstance(e, api.TradeExecuted))
    return cancelled / max(1, cancelled + missed), trades


def peer_stream(api: ModuleType, commands: list[Any]) -> list[tuple[int, str, bool, int, int]]:
    """The same stream as plain tuples for the peers."""
    stream = []
    for command in commands:
        if isinstance(command, api.Limit):
            stream.append((0, command.id, command.side is api.Side.BUY, command.price, command.qty))
        else:
            stream.append((1, command.id, False, 0, 0))
    return stream


def run(messages: int, seed: int, resting: int = 1000) -> dict[str, Any]:
    """Every figure of one benchmark run."""
    import matching
    import matching.exports as interpreted

    plain, stats = benchmark_stream(matching, seed, messages, False, resting)
    constrained, _ = benchmark_stream(matching, seed, messages, True, resting)
    peers = peer_stream(matching, plain)
    body = len(peers) - resting
    engines: dict[str, Callable[[], float]] = {
        "minimal": lambda: body / timed(lambda: run_minimal(peers)),
        "pyorderbook": lambda: body / pyorderbook_seconds(peers),
        "ours": lambda: throughput(matching, plain, resting),
        "ours_constrained": lambda: throughput(matching, constrained, resting),
    }
    rounds: dict[str, list[float]] = {name: [] for name in engines}
    names = list(engines)
    for number in range(ROUNDS):
        # Each round starts with a different engine, so none always inherits another's heap.
        for name in names[number:] + names[:number]:
            rounds[name].append(engines[name]())
    minimal = max(rounds["minimal"])
    pyorderbook = max(rounds["pyorderbook"])
    ours = max(rounds["ours"])
    ours_constrained = max(rounds["ours_constrained"])
    ours_gc = throughput(matching, plain, resting, collector=True)
    interpreted_plain, _ = benchmark_stream(interpreted, seed, messages, False, resting)
    ours_interpreted = throughput(interpreted, interpreted_plain, resting)
    del interpreted_plain
    latency = latencies(matching, plain, resting)
    cancels_live, trades = stream_outcome(matching, plain, resting)
    latency_constrained = latencies(matching, constrained, resting)
    cancels_live_constrained, trades_constrained = stream_outcome(matching, constrained, resting)
    fastest_peer = max(minimal, pyorderbook)
    # Each round times every engine back to back: the ratio within a round shares its noise.
    per_round = [
        ours_rate / max(minimal_rate, pyorderbook_rate)
        for ours_rate, minimal_rate, pyorderbook_rate in zip(
            rounds["ours"], rounds["minimal"], rounds["pyorderbook"], strict=True
        )
    ]
    return {
        "messages": messages,
        "resting": resting,
        "seed": seed,
        "mix": {"limit": stats.limits, "cancel": stats.cancels, "marketable": stats.marketable},
        "python": platform.python_version(),
        "compiled": matching.COMPILED,
        "rounds_msgs_per_s": {name: [round(r) for r in rates] for name, rates in rounds.items()},
        "unconstrained": {
            "ours_msgs_per_s": round(ours),
            "ours_gc_on_msgs_per_s": round(ours_gc),
            "ours_interpreted_msgs_per_s": round(ours_interpreted),
            "minimal_sortedcontainers_msgs_per_s": round(minimal),
            "pyorderbook_msgs_per_s": round(pyorderbook),
            "ratio_vs_fastest_peer": round(ours / fastest_peer, 2),
            "ratio_vs_fastest_peer_per_round": [round(r, 2) for r in per_round],
            "ratio_vs_fastest_peer_median_round": round(statistics.median(per_round), 2),
            "latency": latency,
            "cancels_hitting_live_order": round(cancels_live, 3),
            "trades": trades,
            "trades_per_message": round(trades / messages, 3),
        },
        "constrained_30pct": {
            "ours_msgs_per_s": round(ours_constrained),
            "ratio_vs_unconstrained": round(ours_constrained / ours, 2),
            "latency": latency_constrained,
            "cancels_hitting_live_order": round(cancels_live_constrained, 3),
            "trades": trades_constrained,
            "trades_per_message": round(trades_constrained / messages, 3),
        },
    }


def main(messages: int = 1_000_000, seed: int = 1, as_json: bool = False) -> dict[str, Any]:
    """Run and print; with `as_json` the last line is one JSON object with every figure."""
    figures = run(messages, seed)
    if as_json:
        print(json.dumps(figures))
    else:
        print(json.dumps(figures, indent=2))
    return figures
