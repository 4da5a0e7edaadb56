"""Class tables counted from the records, from cached tables or through hubs all agree."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import anonymize.classes as classes
import anonymize.flash as flash
from anonymize import Hierarchy, interval_hierarchy
from anonymize.classes import ClassTable, Records, Roller
from anonymize.encoding import EncodedColumn, encode
from anonymize.flash import TableCache
from anonymize.verify import class_sizes


def small_table(rows: int, seed: int) -> tuple[list[EncodedColumn], pd.DataFrame]:
    """Three coded quasi-identifiers (ages with intervals, two categories) and their labels."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "age": rng.integers(0, 40, rows).astype(str),
            "letter": rng.choice(list("abcdef"), rows),
            "flag": rng.choice(["x", "y"], rows),
        }
    )
    hierarchies = {
        "age": interval_hierarchy([str(a) for a in range(40)], (5, 10, 20)),
        "letter": Hierarchy.from_rows((c, "abc" if c in "abc" else "def", "*") for c in "abcdef"),
        "flag": Hierarchy.flat(["x", "y"]),
    }
    return encode(data, list(data.columns), hierarchies), data


def expected_counts(columns: list[EncodedColumn], levels: tuple[int, ...]) -> list[int]:
    """Class sizes at `levels`, grouped the obvious way with pandas."""
    frame = pd.DataFrame(
        {c.name: c.level_maps[level][c.codes] for c, level in zip(columns, levels, strict=True)}
    )
    return sorted(frame.groupby(list(frame.columns)).size().tolist())


def all_levels(columns: list[EncodedColumn]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(c.height) for c in columns)))


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 300), seed=st.integers(0, 10_000))
def test_roll_ups_from_the_records_match_a_groupby(rows: int, seed: int) -> None:
    columns, _ = small_table(rows, seed)
    roller = Roller(columns)
    records = Records(columns, {}, {})
    for levels in all_levels(columns):
        table = roller.roll_up(records, levels)
        with_groups, groups = roller.roll_up_with_groups(records, levels)
        assert sorted(table.counts.tolist()) == expected_counts(columns, levels)
        assert np.array_equal(np.sort(with_groups.counts), np.sort(table.counts))
        assert np.array_equal(np.bincount(groups), with_groups.counts)


def test_chunked_counting_and_packed_tables_agree_with_plain_roll_ups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    columns, _ = small_table(2_000, seed=3)
    roller = Roller(columns)
    records = Records(columns, {}, {})
    plain = {levels: roller.roll_up(records, levels) for levels in all_levels(columns)}
    monkeypatch.setattr(classes, "CHUNK", 64)
    monkeypatch.setattr(classes, "PACK_FROM", 8)
    source = roller.roll_up(records, (1, 0, 0))
    for levels, table in plain.items():
        if all(a >= b for a, b in zip(levels, source.levels, strict=True)):
            rolled = roller.roll_up(source, levels)
            assert np.array_equal(rolled.counts, table.counts)
            assert np.array_equal(rolled.codes, table.codes)
        chunked = roller.roll_up(records, levels)
        assert np.array_equal(chunked.counts, table.counts)
    assert isinstance(source, ClassTable) and source.packed is not None


def test_hubs_do_not_change_any_class_table(monkeypatch: pytest.MonkeyPatch) -> None:
    columns, _ = small_table(3_000, seed=11)
    roller = Roller(columns)
    records = Records(columns, {}, {})
    monkeypatch.setattr(flash, "HUB_RATIO", 2)
    cache = TableCache(roller, records, budget=10_000)
    for levels in reversed(all_levels(columns)):
        assert sorted(cache.get(levels).counts.tolist()) == expected_counts(columns, levels)
    assert cache.evaluated == len(all_levels(columns))


def test_verifier_class_sizes_match_a_groupby_on_labels() -> None:
    _, data = small_table(500, seed=5)
    released = data.astype("category")
    released.loc[:10, "letter"] = np.nan
    expected = released.groupby(list(data.columns), dropna=False, observed=True).size()
    assert sorted(class_sizes(released, list(data.columns)).tolist()) == sorted(expected)
    assert sorted(class_sizes(data, list(data.columns)).tolist()) == sorted(
        data.groupby(list(data.columns)).size()
    )
