"""Quality scoring at scale: `score_table` on a seeded text table (bench/quality/table.py) beside a
plain pandas profile of the same table (null counts per column, duplicate rows, dtypes), in one run.

Each is timed `repeats` times in wall-clock and in this process's CPU seconds (the machine may be
shared); the best of each is reported. Goal (issue 13): scoring 1M rows under 5 s and within 3×
of the pandas profile.
"""

import gc
import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from bench.quality.table import build, now
from market.quality import score_table


def _best(work: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best wall-clock and CPU seconds of `repeats` runs, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def pandas_profile(frame: pd.DataFrame) -> dict[str, Any]:
    """The baseline: what a plain pandas profile of a table computes."""
    return {
        "nulls": frame.isna().sum().to_dict(),
        "duplicates": int(frame.duplicated().sum()),
        "dtypes": frame.dtypes.astype(str).to_dict(),
    }


def run(rows: int, columns: int, repeats: int, seed: int) -> dict[str, Any]:
    frame, schema = build(rows, columns, seed)
    score_wall, score_cpu, report = _best(lambda: score_table(frame, schema, now=now()), repeats)
    base_wall, base_cpu, profile = _best(lambda: pandas_profile(frame), repeats)
    duplicates = report.component("uniqueness").details["duplicates"]
    return {
        "rows": rows,
        "columns": columns,
        "repeats": repeats,
        "score": report.score,
        "components": {c.name: c.score for c in report.components},
        "score_seconds": round(score_wall, 2),
        "score_cpu_seconds": round(score_cpu, 2),
        "pandas_profile_seconds": round(base_wall, 2),
        "pandas_profile_cpu_seconds": round(base_cpu, 2),
        "ratio_cpu": round(score_cpu / base_cpu, 2) if base_cpu else None,
        "same_duplicates": duplicates == profile["duplicates"],
        "machine": f"{platform.machine()}, Python {platform.python_version()}, "
        f"pandas {pd.__version__}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main(
    rows: int = 1_000_000,
    columns: int = 10,
    repeats: int = 3,
    seed: int = 1,
    as_json: bool = False,
) -> bool:
    """Run, print the figures; True when both counted the same duplicate rows."""
    result = run(rows, columns, repeats, seed)
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    return bool(result["same_duplicates"])
