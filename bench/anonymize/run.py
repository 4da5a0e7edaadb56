"""Runs every anonymization figure and prints them; with --json the last line is one object."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from typing import Any

from bench.anonymize.adult import run_adult
from bench.anonymize.peer import run_peer


def scale_in_subprocess(rows: int, algorithms: str) -> dict[str, Any]:
    """One synthetic size and algorithm list in a fresh process."""
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.anonymize.scale",
            "--rows",
            str(rows),
            "--algorithms",
            algorithms,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return figures


def main(
    sizes: list[int],
    skip_peer: bool,
    as_json: bool,
    skip_adult: bool = False,
    algorithms: str = "optimal,mondrian",
) -> None:
    """Run Adult, the peer and each synthetic size; print a summary and optionally JSON."""
    figures: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    if not skip_adult:
        figures.update(run_adult())
    if not skip_peer:
        figures.update(run_peer())
    for rows in sizes:
        # One process per algorithm, so each peak RSS belongs to that algorithm alone.
        for algorithm in algorithms.split(","):
            for key, value in scale_in_subprocess(rows, algorithm).items():
                figures[f"scale_{rows}_{key}"] = value
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{key:45} {shown}")
    if as_json:
        print(json.dumps(figures, ensure_ascii=False))
