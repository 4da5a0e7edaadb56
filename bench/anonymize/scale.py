"""Synthetic tables with 8 quasi-identifiers at scale; one size per process for a clean peak RSS.

`python -m bench.anonymize.scale --rows 1000000` prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from typing import Any

import numpy as np
import pandas as pd

from anonymize import (
    Algorithm,
    Config,
    Definition,
    Hierarchy,
    KAnonymity,
    anonymize,
    interval_hierarchy,
)

# (name, number of values, fan-out per level): categorical QIs with 3- or 4-level hierarchies.
CATEGORICAL = [
    ("sex", 2, ()),
    ("region", 47, (6,)),
    ("occupation", 40, (5,)),
    ("education", 16, (4, 2)),
    ("marital", 7, (3,)),
    ("industry", 20, (5,)),
    ("income_band", 12, (3, 2)),
]


def categorical_hierarchy(name: str, size: int, fanouts: tuple[int, ...]) -> Hierarchy:
    """value -> coarser groups by integer division -> *."""
    rows = []
    for value in range(size):
        row = [f"{name}{value}"]
        group = value
        for level, fanout in enumerate(fanouts, start=1):
            group //= fanout
            row.append(f"{name}-L{level}-{group}")
        row.append("*")
        rows.append(row)
    return Hierarchy.from_rows(rows)


def synthetic(rows: int, seed: int = 1) -> tuple[pd.DataFrame, dict[str, Hierarchy]]:
    """A skewed people-like table: age 0-99 plus 7 categorical columns (pandas categoricals)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    ages = np.clip(rng.normal(45, 18, rows).round(), 0, 99).astype(np.int64)
    age_labels = np.array([str(a) for a in range(100)], dtype=object)
    columns["age"] = pd.Categorical.from_codes(ages, categories=pd.Index(age_labels))
    hierarchies = {"age": interval_hierarchy(age_labels.tolist(), (5, 10, 20, 40))}
    for name, size, fanouts in CATEGORICAL:
        weights = 1.0 / np.arange(1, size + 1) ** 0.8
        codes = rng.choice(size, rows, p=weights / weights.sum())
        columns[name] = pd.Categorical.from_codes(
            codes, categories=pd.Index([f"{name}{v}" for v in range(size)])
        )
        hierarchies[name] = categorical_hierarchy(name, size, fanouts)
    return pd.DataFrame(columns), hierarchies


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_scale(rows: int, algorithms: list[str]) -> dict[str, Any]:
    """Anonymize one synthetic table with each algorithm at k=5; time, utility, peak memory."""
    data, hierarchies = synthetic(rows)
    definition = Definition.of(quasi=list(data.columns))
    figures: dict[str, Any] = {"rows": rows, "input_rss_mib": peak_rss_mib()}
    for algorithm in algorithms:
        config = Config((KAnonymity(5),), algorithm=Algorithm(algorithm))
        start = time.perf_counter()
        result = anonymize(data, definition, hierarchies, config)
        figures[f"{algorithm}_seconds"] = time.perf_counter() - start
        figures[f"{algorithm}_dm"] = result.metrics.dm
        figures[f"{algorithm}_classes"] = result.metrics.equivalence_classes
        figures[f"{algorithm}_k"] = result.verification.k
        figures[f"{algorithm}_peak_rss_mib"] = peak_rss_mib()
        del result
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=float, default=1_000_000)
    parser.add_argument("--algorithms", default="optimal,mondrian")
    arguments = parser.parse_args()
    print(json.dumps(run_scale(int(arguments.rows), arguments.algorithms.split(","))))
