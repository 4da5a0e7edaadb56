"""The quality benchmark runs end to end on a small table (its figures go to docs/benchmarks.md)."""

from bench.quality.run import run


def test_the_benchmark_scores_the_table_and_agrees_with_pandas_on_duplicates() -> None:
    result = run(rows=2_000, columns=9, repeats=1, seed=3)
    assert result["same_duplicates"] is True
    assert 0 < result["score"] <= 100
    assert result["components"]["consistency"] is not None
    assert result["components"]["currentness"] is not None
