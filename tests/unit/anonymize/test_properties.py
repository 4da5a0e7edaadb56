"""Invariants of every release, on random tables and hierarchies (hypothesis)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymize import (
    Algorithm,
    ColumnKind,
    ColumnSpec,
    Config,
    Definition,
    Hierarchy,
    KAnonymity,
    KAnonymityNotReached,
    anonymize,
    interval_hierarchy,
)

LETTERS = "abcdefgh"
# A three-level hierarchy over the letters: letter -> pair -> half -> *.
LETTER_HIERARCHY = Hierarchy.from_rows(
    (c, f"{LETTERS[i // 2 * 2]}{LETTERS[i // 2 * 2 + 1]}", "abcd" if i < 4 else "efgh", "*")
    for i, c in enumerate(LETTERS)
)

tables = st.lists(
    st.tuples(st.integers(0, 60), st.sampled_from(LETTERS), st.sampled_from("xyz")),
    min_size=8,
    max_size=120,
)


def ancestors(hierarchy: Hierarchy) -> dict[str, set[str]]:
    return {row[0]: set(row) for row in hierarchy.rows}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.integers(2, 6), st.sampled_from([0.0, 0.1]))
def test_optimal_release_has_classes_of_k_and_only_hierarchy_labels(records, k, suppression):
    data = pd.DataFrame(records, columns=["n", "c", "s"]).astype(str)
    hierarchies = {"n": interval_hierarchy(data["n"], (4, 8, 16)), "c": LETTER_HIERARCHY}
    definition = Definition.of(quasi=["n", "c"], insensitive=["s"])
    config = Config((KAnonymity(k),), suppression_limit=suppression, algorithm=Algorithm.OPTIMAL)
    if len(data) < k:
        with pytest.raises(KAnonymityNotReached):
            anonymize(data, definition, hierarchies, config)
        return
    result = anonymize(data, definition, hierarchies, config)
    output = result.output
    assert output.groupby(["n", "c"], observed=True).size().min() >= k
    assert result.metrics.suppressed_rows <= int(suppression * len(data))
    for column in ("n", "c"):
        allowed = {label for row in hierarchies[column].rows for label in row}
        assert set(output[column]) <= allowed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.integers(2, 6), st.booleans())
def test_mondrian_release_has_classes_of_k_and_truthful_labels(records, k, relaxed):
    data = pd.DataFrame(records, columns=["n", "c", "s"]).astype(str)
    if len(data) < k:
        return
    hierarchies = {"c": LETTER_HIERARCHY}
    definition = Definition.of(quasi=["n", "c"], insensitive=["s"])
    config = Config((KAnonymity(k),), algorithm=Algorithm.MONDRIAN, relaxed_mondrian=relaxed)
    result = anonymize(data, definition, hierarchies, config)
    output = result.output
    assert len(output) == len(data)
    assert output.groupby(["n", "c"], observed=True).size().min() >= k
    letter_ancestors = ancestors(LETTER_HIERARCHY)
    for original, released in zip(data.itertuples(), output.itertuples(), strict=True):
        low, _, high = released.n.partition("-")
        assert int(low) <= int(original.n) <= int(high or low)
        assert released.c in letter_ancestors[original.c]


PARITY = Hierarchy.from_rows(
    (str(n), "even" if n % 2 == 0 else "odd", "any", "*") for n in range(61)
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables, st.integers(2, 5))
def test_mondrian_labels_stay_truthful_with_a_non_interval_numeric_hierarchy(records, k):
    data = pd.DataFrame(records, columns=["n", "c", "s"]).astype(str)
    if len(data) < k:
        return
    definition = Definition(
        {
            "n": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, min_level=1),
            "c": ColumnSpec(ColumnKind.QUASI_IDENTIFYING),
            "s": ColumnSpec(ColumnKind.INSENSITIVE),
        }
    )
    config = Config((KAnonymity(k),), algorithm=Algorithm.MONDRIAN)
    result = anonymize(data, definition, {"n": PARITY, "c": LETTER_HIERARCHY}, config)
    parity = ancestors(PARITY)
    for original, released in zip(data.itertuples(), result.output.itertuples(), strict=True):
        assert released.n in parity[original.n] and released.n != original.n
