"""Adult figures: optimal full-domain vs ARX's published results, Mondrian vs Basic_Mondrian."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from anonymize import (
    Algorithm,
    Config,
    Definition,
    Hierarchy,
    KAnonymity,
    QualityModel,
    anonymize,
)
from anonymize.classes import Records
from anonymize.encoding import encode
from anonymize.fulldomain import full_domain

# Kept in the repository (with each file's source and licence in SOURCE.md there), so a fresh clone
# runs the tests and the benchmark with nothing beside it.
ADULT = Path(__file__).resolve().parents[2] / "tests" / "data" / "adult"
ARX_QIS = [
    "age",
    "education",
    "marital-status",
    "native-country",
    "race",
    "salary-class",
    "sex",
    "workclass",
]
# Basic_Mondrian's QI set on Adult (its README: NCP 12.19% strict, 24.91% relaxed at k=10).
BASIC_MONDRIAN_QIS = [
    "age",
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "race",
    "sex",
    "native-country",
]
ARX_FLASH_MS = 27.0
ARX_DM = 55_170_356
ARX_AECS = 942.5625
BASIC_MONDRIAN_NCP = {"strict": 0.1219, "relaxed": 0.2491}


def load_adult() -> tuple[pd.DataFrame, dict[str, Hierarchy]]:
    """ARX's adult.csv and hierarchies from tests/data/adult."""
    if not (ADULT / "adult.csv").is_file():
        raise SystemExit(
            f"Adult data not found at {ADULT}; it belongs to the repository (tests/data/adult)"
        )
    data = pd.read_csv(ADULT / "adult.csv", sep=";", dtype=str)
    hierarchies = {
        name: Hierarchy.from_csv(ADULT / "arx_hierarchies" / f"adult_hierarchy_{name}.csv")
        for name in data.columns
    }
    return data, hierarchies


def timed(work: Callable[[], Any], repeat: int = 5) -> tuple[float, Any]:
    """Median wall time in seconds over `repeat` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def search_only(data: pd.DataFrame, hierarchies: dict[str, Hierarchy]) -> float:
    """Median time of encoding plus the lattice search alone, as ARX's Flash figure measures."""
    config = Config((KAnonymity(5),), algorithm=Algorithm.OPTIMAL)

    def work() -> Any:
        columns = encode(data, ARX_QIS, hierarchies)
        return full_domain(columns, Records(columns, {}, {}), {}, config, [0] * len(columns))

    seconds, _ = timed(work, repeat=7)
    return seconds


def run_adult() -> dict[str, Any]:
    """Optimal and Mondrian on Adult: runtimes and utility next to the published figures."""
    data, hierarchies = load_adult()
    rest = [c for c in data.columns if c not in ARX_QIS]
    definition = Definition.of(quasi=ARX_QIS, insensitive=rest)
    chosen = {q: hierarchies[q] for q in ARX_QIS}

    def run(algorithm: Algorithm, quality: QualityModel = QualityModel.DM, k: int = 5) -> Any:
        config = Config((KAnonymity(k),), quality=quality, algorithm=algorithm)
        return anonymize(data, definition, chosen, config)

    optimal_s, optimal = timed(lambda: run(Algorithm.OPTIMAL))
    search_s = search_only(data, chosen)
    _, by_aecs = timed(lambda: run(Algorithm.OPTIMAL, QualityModel.AECS), repeat=1)
    mondrian_s, mondrian = timed(lambda: run(Algorithm.MONDRIAN))
    figures: dict[str, Any] = {
        "adult_rows": len(data),
        "optimal_k5_seconds": optimal_s,
        "optimal_k5_dm": optimal.metrics.dm,
        "optimal_k5_dm_matches_arx": optimal.metrics.dm == ARX_DM,
        "optimal_k5_aecs_optimum": by_aecs.metrics.aecs,
        "optimal_k5_aecs_matches_arx": abs(by_aecs.metrics.aecs - ARX_AECS) < 1e-9,
        "optimal_lattice_size": optimal.statistics["lattice_size"],
        "optimal_nodes_checked": optimal.statistics["nodes_checked"],
        "optimal_k5_search_seconds": search_s,
        "arx_flash_2014_ms": ARX_FLASH_MS,
        "optimal_search_over_arx_flash_time": search_s * 1000 / ARX_FLASH_MS,
        "mondrian_k5_seconds": mondrian_s,
        "mondrian_k5_dm": mondrian.metrics.dm,
        "mondrian_k5_ncp": mondrian.metrics.ncp,
    }
    gcp_definition = Definition.of(
        quasi=BASIC_MONDRIAN_QIS,
        insensitive=[c for c in data.columns if c not in BASIC_MONDRIAN_QIS],
    )
    gcp_hierarchies = {q: hierarchies[q] for q in BASIC_MONDRIAN_QIS}
    for mode, relaxed in (("strict", False), ("relaxed", True)):
        config = Config((KAnonymity(10),), algorithm=Algorithm.MONDRIAN, relaxed_mondrian=relaxed)
        seconds, result = timed(
            partial(anonymize, data, gcp_definition, gcp_hierarchies, config), repeat=3
        )
        figures[f"mondrian_{mode}_k10_gcp"] = result.metrics.ncp
        figures[f"mondrian_{mode}_k10_seconds"] = seconds
        figures[f"basic_mondrian_{mode}_k10_gcp"] = BASIC_MONDRIAN_NCP[mode]
    return figures
