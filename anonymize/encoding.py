"""Integer encoding of quasi-identifiers and their hierarchies, done once per run.

Each column becomes leaf codes (int32, one per row) plus, per level, a lookup array from
leaf code to the code of its generalization. The hot paths then only index numpy arrays.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymize.errors import HierarchyMissingValue
from anonymize.hierarchy import Hierarchy

IntArray = npt.NDArray[np.signedinteger[Any]]


@dataclass(frozen=True)
class EncodedColumn:
    """One quasi-identifier: row codes, per-level maps and labels, numeric order if any."""

    name: str
    codes: npt.NDArray[np.int32]
    level_maps: tuple[IntArray, ...]
    level_labels: tuple[npt.NDArray[np.object_], ...]
    numeric_values: npt.NDArray[np.float64] | None

    @property
    def height(self) -> int:
        """Number of levels, original values included."""
        return len(self.level_maps)

    def domain(self, level: int) -> int:
        """Number of distinct labels at a level."""
        return len(self.level_labels[level])

    def lift(self, source: int, target: int) -> IntArray:
        """Map from codes at level `source` to codes at level `target` (source <= target)."""
        first_leaf = np.full(self.domain(source), -1, dtype=np.int64)
        leaves = np.arange(len(self.level_maps[0]))
        first_leaf[self.level_maps[source][::-1]] = leaves[::-1]
        return self.level_maps[target][first_leaf]


def _numeric(values: Sequence[str]) -> npt.NDArray[np.float64] | None:
    try:
        return np.array([float(value) for value in values], dtype=np.float64)
    except ValueError:
        return None


def _leaf_codes(series: pd.Series, leaves: pd.Index) -> IntArray:
    """Leaf index of every value (-1 when the hierarchy lacks it); categoricals via categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        per_category = leaves.get_indexer(series.cat.categories.astype(str))
        category_codes = series.cat.codes.to_numpy()
        if len(category_codes) and category_codes.min() >= 0:
            # No missing values: one gather through the (small) category lookup.
            gathered: IntArray = per_category.astype(np.int32)[category_codes]
            return gathered
        codes: IntArray = np.where(category_codes >= 0, per_category[category_codes], -1).astype(
            np.int64
        )
        return codes
    return leaves.get_indexer(pd.Index(series.astype(str))).astype(np.int64)


def _contiguous(hierarchy: Hierarchy, order: npt.NDArray[np.int64]) -> bool:
    """Whether every label covers a run of consecutive leaves in this order (intervals do)."""
    for level in range(1, hierarchy.height):
        labels = [hierarchy.rows[i][level] for i in order]
        runs = sum(1 for a, b in itertools.pairwise(labels) if a != b) + 1
        if runs != len(set(labels)):
            return False
    return True


def encode_column(name: str, series: pd.Series, hierarchy: Hierarchy) -> EncodedColumn:
    """Encode one column against its hierarchy; leaves in numeric order when they are numbers."""
    leaves = hierarchy.values
    numbers = _numeric(leaves)
    order = np.argsort(numbers, kind="stable") if numbers is not None else None
    if order is None or not _contiguous(hierarchy, order):
        # Sorting by labels from the root down lays every subtree out contiguously, so a
        # range of leaf codes has a single lowest common ancestor (Mondrian relies on it).
        paths = [tuple(reversed(row)) for row in hierarchy.rows]
        order = np.array(sorted(range(len(leaves)), key=paths.__getitem__), dtype=np.int64)
        numbers = None
    sorted_leaves = [leaves[i] for i in order]
    codes = _leaf_codes(series, pd.Index(sorted_leaves))
    missing = codes < 0
    if missing.any():
        distinct = int(pd.Series(series[missing]).astype(str).nunique())
        raise HierarchyMissingValue(name, distinct, int(missing.sum()))
    maps: list[IntArray] = []
    labels: list[npt.NDArray[np.object_]] = []
    for level in range(hierarchy.height):
        column = [hierarchy.rows[i][level] for i in order]
        uniques, inverse = np.unique(np.array(column, dtype=object), return_inverse=True)
        # keep labels in first-appearance order so codes follow the leaf (numeric) order
        first = np.full(len(uniques), len(column), dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(len(column)))
        rank = np.empty(len(uniques), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(uniques))
        maps.append(rank[inverse].astype(np.int64))
        labels.append(uniques[np.argsort(first, kind="stable")])
    return EncodedColumn(
        name=name,
        codes=codes.astype(np.int32),
        level_maps=tuple(maps),
        level_labels=tuple(labels),
        numeric_values=None if numbers is None else numbers[order],
    )


def encode(
    data: pd.DataFrame, columns: Sequence[str], hierarchies: Mapping[str, Hierarchy]
) -> list[EncodedColumn]:
    """Encode every quasi-identifier, in the given order."""
    return [encode_column(name, data[name], hierarchies[name]) for name in columns]


def combine(columns: Sequence[IntArray], sizes: Sequence[int]) -> tuple[IntArray, int, bool]:
    """Fold code columns into one int64 key per row (mixed radix), compressing on overflow.

    Returns the keys, the size of their space, and whether the keys still decode to codes
    (False once compressed); equal keys mean equal tuples.
    """
    keys = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    space = 1
    exact = True
    for codes, size in zip(columns, sizes, strict=True):
        if space * size >= 2**62:
            uniques, inverse = np.unique(keys, return_inverse=True)
            keys = inverse.astype(np.int64).ravel()
            space = len(uniques)
            exact = False
        keys = keys * size + codes
        space *= size
    return keys, space, exact


def combine_lifted(
    codes: IntArray, lifts: Sequence[IntArray], sizes: Sequence[int]
) -> tuple[IntArray, int, bool]:
    """Keys of the rows of `codes` (columns x rows) after mapping column j through lifts[j].

    Folding the radix weights into the small lookup arrays costs one take and one add per
    column; very large key spaces fall back to `combine`.
    """
    space = 1
    for size in sizes:
        space *= size
    if space >= 2**62:
        lifted = [np.take(lift, column) for lift, column in zip(lifts, codes, strict=True)]
        return combine(lifted, sizes)
    # 32-bit keys halve the memory traffic whenever the key space allows it.
    dtype: type[np.signedinteger[Any]] = np.int32 if space < 2**31 else np.int64
    keys: IntArray = np.zeros(codes.shape[1], dtype=dtype)
    buffer: IntArray = np.empty(codes.shape[1], dtype=dtype)
    stride = 1
    for j in range(len(sizes) - 1, -1, -1):
        if sizes[j] > 1:
            np.take((lifts[j] * stride).astype(dtype), codes[j], out=buffer)
            keys += buffer
        stride *= sizes[j]
    return keys, space, True


def decode(keys: IntArray, sizes: Sequence[int]) -> IntArray:
    """Codes (columns x keys) of exact mixed-radix keys, int16 when every domain allows."""
    narrow: type[np.signedinteger[Any]] = np.int16 if max(sizes, default=0) < 2**15 else np.int32
    codes: IntArray = np.empty((len(sizes), len(keys)), dtype=narrow)
    rest = keys.copy()
    for j in range(len(sizes) - 1, -1, -1):
        rest, codes[j] = np.divmod(rest, sizes[j])
    return codes
