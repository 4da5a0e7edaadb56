"""The lattice search finds the true optimum: brute force over every node agrees."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymize import (
    Algorithm,
    Config,
    Definition,
    Hierarchy,
    KAnonymity,
    QualityModel,
    anonymize,
    interval_hierarchy,
)

from .conftest import ARX_QIS

LETTERS = Hierarchy.from_rows((c, "abc" if c in "abc" else "def", "*") for c in "abcdef")


def brute_force(data: pd.DataFrame, hierarchies: dict, k: int, suppression: float) -> dict:
    """Best DM and AECS over every full-domain node, computed the slow and obvious way."""
    n = len(data)
    limit = int(suppression * n)
    best = {"dm": None, "aecs": None}
    columns = list(hierarchies)
    ranges = [range(hierarchies[c].height) for c in columns]
    for levels in itertools.product(*ranges):
        generalized = pd.DataFrame(
            {
                c: data[c].map({row[0]: row[level] for row in hierarchies[c].rows})
                for c, level in zip(columns, levels, strict=True)
            }
        )
        sizes = generalized.groupby(columns).size()
        outliers = int(sizes[sizes < k].sum())
        if outliers > limit:
            continue
        kept = sizes[sizes >= k]
        dm = int((kept**2).sum()) + outliers * n
        aecs = n / (len(kept) + (1 if outliers else 0))
        best["dm"] = dm if best["dm"] is None else min(best["dm"], dm)
        best["aecs"] = aecs if best["aecs"] is None else min(best["aecs"], aecs)
    return best


tables = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from("abcdef")), min_size=10, max_size=80
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.integers(2, 5), st.sampled_from([0.0, 0.05, 0.2]))
def test_dm_and_aecs_optima_match_brute_force(records, k, suppression):
    data = pd.DataFrame(records, columns=["n", "c"]).astype(str)
    hierarchies = {"n": interval_hierarchy(data["n"], (5, 10, 20)), "c": LETTERS}
    expected = brute_force(data, hierarchies, k, suppression)
    definition = Definition.of(quasi=["n", "c"])
    for quality in (QualityModel.DM, QualityModel.AECS):
        config = Config(
            (KAnonymity(k),),
            suppression_limit=suppression,
            quality=quality,
            algorithm=Algorithm.OPTIMAL,
        )
        result = anonymize(data, definition, hierarchies, config)
        assert getattr(result.metrics, quality.value) == pytest.approx(expected[quality.value])


def test_each_quality_model_is_best_under_its_own_measure(adult, adult_hierarchies):
    rest = [c for c in adult.columns if c not in ARX_QIS]
    definition = Definition.of(quasi=ARX_QIS, insensitive=rest)
    hierarchies = {q: adult_hierarchies[q] for q in ARX_QIS}
    results = {
        quality: anonymize(
            adult,
            definition,
            hierarchies,
            Config((KAnonymity(5),), quality=quality, algorithm=Algorithm.OPTIMAL),
        ).metrics
        for quality in QualityModel
    }
    for quality, metrics in results.items():
        own = getattr(metrics, quality.value)
        assert all(own <= getattr(other, quality.value) + 1e-9 for other in results.values())
