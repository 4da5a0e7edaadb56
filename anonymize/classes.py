"""Equivalence classes of a full-domain transformation, built and rolled up with numpy.

A ClassTable holds one entry per class: its codes at the transformation's levels (one
contiguous row per column), its size, and one histogram per sensitive column. Rolling a
table up to a more general transformation only touches classes, never records (ARX's
snapshot idea, Kohlmayer et al. 2012).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from anonymize.encoding import EncodedColumn, IntArray, combine, combine_lifted, decode
from anonymize.packing import PackedCodes, pack, packed_keys


class ClassTable:
    """Equivalence classes at one transformation (levels per quasi-identifier).

    Codes are decoded from the class keys on first use: most tables are only checked.
    """

    def __init__(
        self,
        levels: tuple[int, ...],
        codes: Callable[[], IntArray],
        counts: IntArray,
        histograms: Mapping[str, IntArray],
    ) -> None:
        self.levels = levels
        self.counts = counts
        self.histograms = histograms
        self._decode = codes
        self._codes: IntArray | None = None
        self.packed: PackedCodes | None = None

    @property
    def codes(self) -> IntArray:
        """Codes of every class (one row per column)."""
        if self._codes is None:
            self._codes = self._decode()
        return self._codes

    @property
    def size(self) -> int:
        """Number of classes."""
        return len(self.counts)


def group_keys(keys: IntArray, space: int) -> tuple[IntArray, IntArray]:
    """Dense group id per key and the sorted distinct keys; counting sort when space is small."""
    if space <= 4 * len(keys) + 4096:
        present = np.bincount(keys, minlength=space) > 0
        ids = np.cumsum(present) - 1
        return ids[keys], np.flatnonzero(present)
    # A hash table beats sorting here; group ids follow first appearance, which is fine.
    inverse, uniques = pd.factorize(keys)
    return inverse.astype(np.int64), np.asarray(uniques, dtype=np.int64)


def sum_rows(groups: IntArray, n_groups: int, values: IntArray) -> IntArray:
    """Sum the rows of a 2-D array by group id."""
    width = values.shape[1]
    flat = (groups[:, None] * width + np.arange(width)).ravel()
    summed = np.bincount(flat, weights=values.ravel(), minlength=n_groups * width)
    return summed.astype(np.int64).reshape(n_groups, width)


def _class_codes(
    codes: Sequence[IntArray],
    sizes: Sequence[int],
    uniques: IntArray,
    exact: bool,
    groups: IntArray,
) -> IntArray:
    """Codes of each class: decoded from the keys, or taken from a first member."""
    if exact:
        return decode(uniques, sizes)
    first = np.full(len(uniques), len(groups), dtype=np.int64)
    np.minimum.at(first, groups, np.arange(len(groups)))
    stacked: IntArray = np.stack([c[first] for c in codes]).astype(np.int32)
    return stacked


def base_table(
    columns: Sequence[EncodedColumn],
    sensitive_codes: Mapping[str, IntArray],
    sensitive_sizes: Mapping[str, int],
) -> tuple[ClassTable, IntArray]:
    """Classes of the original data (all levels 0) and the class id of every row."""
    codes = [column.codes.astype(np.int64) for column in columns]
    sizes = [column.domain(0) for column in columns]
    keys, space, exact = combine(codes, sizes)
    groups, uniques = group_keys(keys, space)
    n_groups = len(uniques)
    counts = np.bincount(groups, minlength=n_groups).astype(np.int64)
    histograms = {}
    for name, values in sensitive_codes.items():
        size = sensitive_sizes[name]
        flat = np.bincount(groups * size + values, minlength=n_groups * size)
        histograms[name] = flat.astype(np.int64).reshape(n_groups, size)
    table_codes = _class_codes(codes, sizes, uniques, exact, groups)
    table = ClassTable(tuple(0 for _ in columns), lambda: table_codes, counts, histograms)
    table.packed = pack(table_codes, sizes)
    return table, groups


class Roller:
    """Rolls class tables up the lattice, with cached level-to-level lookup arrays."""

    def __init__(self, columns: Sequence[EncodedColumn]) -> None:
        self.columns = list(columns)
        self._lifts: dict[tuple[int, int, int], IntArray] = {}

    def lift(self, column: int, source: int, target: int) -> IntArray:
        """Cached lookup from codes at `source` to codes at `target` for one column."""
        key = (column, source, target)
        if key not in self._lifts:
            self._lifts[key] = self.columns[column].lift(source, target)
        return self._lifts[key]

    def roll_up_with_groups(
        self, table: ClassTable, levels: Sequence[int]
    ) -> tuple[ClassTable, IntArray]:
        """Classes at `levels` merged from `table`, and the new class of each old class."""
        sizes = [self.columns[j].domain(level) for j, level in enumerate(levels)]
        lifts = [self.lift(j, table.levels[j], level) for j, level in enumerate(levels)]
        fast = None if table.packed is None else packed_keys(table.packed, lifts, sizes)
        if fast is not None:
            keys, space = fast
            exact = True
        else:
            keys, space, exact = combine_lifted(table.codes, lifts, sizes)
        new_codes: list[IntArray] = []
        if not exact:
            new_codes = [
                np.take(lift, codes) for lift, codes in zip(lifts, table.codes, strict=True)
            ]
        groups, uniques = group_keys(keys, space)
        n_groups = len(uniques)
        counts = np.bincount(groups, weights=table.counts, minlength=n_groups).astype(np.int64)
        histograms = {
            name: sum_rows(groups, n_groups, hist) for name, hist in table.histograms.items()
        }
        if exact:
            # Only the keys are kept; codes are decoded if this table is ever rolled up.
            return ClassTable(
                tuple(levels), lambda: decode(uniques, sizes), counts, histograms
            ), groups
        codes = _class_codes(new_codes, sizes, uniques, exact, groups)
        return ClassTable(tuple(levels), lambda: codes, counts, histograms), groups

    def roll_up(self, table: ClassTable, levels: Sequence[int]) -> ClassTable:
        """Classes at `levels` (each >= the table's level) merged from `table`."""
        return self.roll_up_with_groups(table, levels)[0]
