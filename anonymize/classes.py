"""Equivalence classes of a full-domain transformation, built and rolled up with numpy.

A ClassTable holds one row per class: its codes at the transformation's levels, its size,
and one histogram per sensitive column. Rolling a table up to a more general transformation
only touches classes, never records (ARX's snapshot idea, Kohlmayer et al. 2012).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from anonymize.encoding import EncodedColumn, IntArray, combine


@dataclass(frozen=True)
class ClassTable:
    """Equivalence classes at one transformation (levels per quasi-identifier)."""

    levels: tuple[int, ...]
    codes: IntArray
    counts: IntArray
    histograms: Mapping[str, IntArray]

    @property
    def size(self) -> int:
        """Number of classes."""
        return len(self.counts)


def group_keys(keys: IntArray, space: int) -> tuple[IntArray, int]:
    """Dense group id per key and the number of groups; bincount when the space is small."""
    if space <= 4 * len(keys) + 4096:
        present = np.bincount(keys, minlength=space) > 0
        ids = np.cumsum(present) - 1
        return ids[keys], int(present.sum())
    uniques, inverse = np.unique(keys, return_inverse=True)
    return inverse.astype(np.int64).ravel(), len(uniques)


def sum_rows(groups: IntArray, n_groups: int, values: IntArray) -> IntArray:
    """Sum the rows of a 2-D array by group id."""
    width = values.shape[1]
    flat = (groups[:, None] * width + np.arange(width)).ravel()
    summed = np.bincount(flat, weights=values.ravel(), minlength=n_groups * width)
    return summed.astype(np.int64).reshape(n_groups, width)


def first_members(groups: IntArray, n_groups: int) -> IntArray:
    """Index of the first member of each group."""
    first = np.full(n_groups, len(groups), dtype=np.int64)
    np.minimum.at(first, groups, np.arange(len(groups)))
    return first


def base_table(
    columns: Sequence[EncodedColumn],
    sensitive_codes: Mapping[str, IntArray],
    sensitive_sizes: Mapping[str, int],
) -> tuple[ClassTable, IntArray]:
    """Classes of the original data (all levels 0) and the class id of every row."""
    codes = [column.codes.astype(np.int64) for column in columns]
    keys, space = combine(codes, [column.domain(0) for column in columns])
    groups, n_groups = group_keys(keys, space)
    counts = np.bincount(groups, minlength=n_groups).astype(np.int64)
    first = first_members(groups, n_groups)
    table_codes = np.stack([c[first] for c in codes], axis=1)
    histograms = {}
    for name, values in sensitive_codes.items():
        size = sensitive_sizes[name]
        flat = np.bincount(groups * size + values, minlength=n_groups * size)
        histograms[name] = flat.astype(np.int64).reshape(n_groups, size)
    return ClassTable(tuple(0 for _ in columns), table_codes, counts, histograms), groups


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
        new_codes = [
            self.lift(j, table.levels[j], level)[table.codes[:, j]]
            for j, level in enumerate(levels)
        ]
        sizes = [self.columns[j].domain(level) for j, level in enumerate(levels)]
        keys, space = combine(new_codes, sizes)
        groups, n_groups = group_keys(keys, space)
        counts = np.bincount(groups, weights=table.counts, minlength=n_groups).astype(np.int64)
        first = first_members(groups, n_groups)
        codes = np.stack([c[first] for c in new_codes], axis=1)
        histograms = {
            name: sum_rows(groups, n_groups, hist) for name, hist in table.histograms.items()
        }
        return ClassTable(tuple(levels), codes, counts, histograms), groups

    def roll_up(self, table: ClassTable, levels: Sequence[int]) -> ClassTable:
        """Classes at `levels` (each >= the table's level) merged from `table`."""
        return self.roll_up_with_groups(table, levels)[0]
