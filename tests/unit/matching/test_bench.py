"""The matching benchmark keeps working (a smoke run on a short stream; nothing is timed)."""

import gc

from bench.matching.run import run


def test_benchmark_reports_every_figure_on_a_short_stream() -> None:
    # The benchmark collects garbage before each timed section (24 times); in a test worker
    # that already ran hundreds of tests each collection walked their whole heap, 30 s in all.
    # Frozen, what the earlier tests left is skipped: the collections see the benchmark's own.
    gc.freeze()
    try:
        figures = run(messages=3000, seed=1)
    finally:
        gc.unfreeze()
    plain = figures["unconstrained"]
    constrained = figures["constrained_30pct"]
    assert sum(figures["mix"].values()) == 3000
    assert set(figures["rounds_msgs_per_s"]) == {
        "minimal",
        "pyorderbook",
        "ours",
        "ours_constrained",
    }
    assert len(plain["ratio_vs_fastest_peer_per_round"]) == 5
    assert plain["latency"]["p50_us"] <= plain["latency"]["p99_us"] <= plain["latency"]["p99_9_us"]
    assert 0 < plain["cancels_hitting_live_order"] <= 1
    # A constrained bid for N licences buys N distinct datasets: many more trades per message.
    assert constrained["trades"] > plain["trades"] > 0
