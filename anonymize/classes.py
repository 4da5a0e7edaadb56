"""Equivalence classes of a full-domain transformation, built and rolled up with numpy.

A ClassTable holds one entry per class: its codes at the transformation's levels (one
contiguous row per column), its size, and one histogram per sensitive column. Rolling a
table up to a more general transformation only touches classes, never records (ARX's
snapshot idea, Kohlmayer et al. 2012); only tables with no cached specialization are counted
from the records themselves, chunk by chunk so that the keys stay in the CPU cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymize.encoding import EncodedColumn, IntArray, combine_lifted, decode
from anonymize.packing import PackedCodes, pack, packed_keys

# Records per chunk when counting classes: the chunk's keys stay in the CPU cache.
CHUNK = 2**18
# Tables with more classes than this are packed when first used as a roll-up source.
PACK_FROM = 2**18


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

    def pack(self, sizes: Sequence[int]) -> PackedCodes:
        """Pack the codes (domains `sizes`) for cheap roll-ups; decoded codes are let go."""
        if self.packed is None:
            self.packed = pack(list(self.codes), sizes)
            self._codes = None
        return self.packed


class Records:
    """The records as the source of roll-ups: each one a class of one, never checked as such.

    Counting from the records skips grouping the near-unique original tuples, which at
    millions of rows costs more than most roll-ups.
    """

    def __init__(
        self,
        columns: Sequence[EncodedColumn],
        sensitive_codes: Mapping[str, IntArray],
        sensitive_sizes: Mapping[str, int],
    ) -> None:
        self.levels = tuple(0 for _ in columns)
        self.columns = [column.codes for column in columns]
        self.sensitive = dict(sensitive_codes)
        self.sensitive_sizes = dict(sensitive_sizes)
        self.size = len(columns[0].codes) if columns else 0
        self.packed: PackedCodes | None = pack(self.columns, [c.domain(0) for c in columns])

    @property
    def codes(self) -> IntArray:
        """Codes of every record (one row per column)."""
        stacked: IntArray = np.stack(self.columns)
        return stacked


Source = ClassTable | Records


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


def _histograms(source: Source, groups: IntArray, n_groups: int) -> dict[str, IntArray]:
    if isinstance(source, ClassTable):
        return {name: sum_rows(groups, n_groups, h) for name, h in source.histograms.items()}
    histograms = {}
    for name, values in source.sensitive.items():
        size = source.sensitive_sizes[name]
        flat = np.bincount(groups * size + values, minlength=n_groups * size)
        histograms[name] = flat.astype(np.int64).reshape(n_groups, size)
    return histograms


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

    def _targets(self, source: Source, levels: Sequence[int]) -> tuple[list[int], list[IntArray]]:
        sizes = [self.columns[j].domain(level) for j, level in enumerate(levels)]
        lifts = [self.lift(j, source.levels[j], level) for j, level in enumerate(levels)]
        return sizes, lifts

    def roll_up_with_groups(
        self, source: Source, levels: Sequence[int]
    ) -> tuple[ClassTable, IntArray]:
        """Classes at `levels` merged from `source`, and the new class of each source class."""
        sizes, lifts = self._targets(source, levels)
        fast = None if source.packed is None else packed_keys(source.packed, lifts, sizes)
        if fast is not None:
            keys, space, exact = fast.keys(), fast.space, True
        else:
            keys, space, exact = combine_lifted(source.codes, lifts, sizes)
        new_codes: list[IntArray] = []
        if not exact:
            new_codes = [
                np.take(lift, codes) for lift, codes in zip(lifts, source.codes, strict=True)
            ]
        groups, uniques = group_keys(keys, space)
        n_groups = len(uniques)
        if isinstance(source, ClassTable):
            counts = np.bincount(groups, weights=source.counts, minlength=n_groups)
        else:
            counts = np.bincount(groups, minlength=n_groups)
        histograms = _histograms(source, groups, n_groups)
        if exact:
            # Only the keys are kept; codes are decoded if this table is ever rolled up.
            return ClassTable(
                tuple(levels), lambda: decode(uniques, sizes), counts.astype(np.int64), histograms
            ), groups
        codes = _class_codes(new_codes, sizes, uniques, exact, groups)
        return ClassTable(tuple(levels), lambda: codes, counts.astype(np.int64), histograms), groups

    def roll_up(self, source: Source, levels: Sequence[int]) -> ClassTable:
        """Classes at `levels` (each >= the source's level) merged from `source`."""
        sensitive = source.histograms if isinstance(source, ClassTable) else source.sensitive
        if not sensitive:
            counted = self._count(source, levels)
            if counted is not None:
                return counted
        return self.roll_up_with_groups(source, levels)[0]

    def _count(self, source: Source, levels: Sequence[int]) -> ClassTable | None:
        """Class sizes straight from a counting sort over the keys, chunk by chunk; or None.

        Without sensitive columns nothing needs the class of each source class, so a
        weighted count over a dense key space is the whole roll-up.
        """
        sizes, lifts = self._targets(source, levels)
        weights = source.counts if isinstance(source, ClassTable) else None
        if isinstance(source, ClassTable) and source.packed is None and source.size > PACK_FROM:
            # Packing costs about two roll-ups' worth of work once; each later roll-up from
            # this table then gathers once per pack instead of once per column.
            source.pack([c.domain(v) for c, v in zip(self.columns, source.levels, strict=True)])
        if source.packed is not None:
            fast = packed_keys(source.packed, lifts, sizes)
            if fast is None:
                return None
            space, keys_of = fast.space, fast.keys
        else:
            space = math.prod(sizes)
            if space >= 2**62:
                return None
            codes = source.codes

            def keys_of(start: int = 0, stop: int | None = None) -> IntArray:
                return combine_lifted(codes[:, start:stop], lifts, sizes)[0]

        if space > 4 * source.size + 4096:
            return None
        # Each chunk adds a dense count array, so chunks grow with the key space.
        step = max(CHUNK, space // 2)
        counts: npt.NDArray[Any] = np.zeros(
            space, dtype=np.float64 if weights is not None else np.int64
        )
        for start in range(0, max(source.size, 1), step):
            stop = start + step
            part = None if weights is None else weights[start:stop]
            counts += np.bincount(keys_of(start, stop), weights=part, minlength=space)
        uniques = np.flatnonzero(counts)
        return ClassTable(
            tuple(levels), lambda: decode(uniques, sizes), counts[uniques].astype(np.int64), {}
        )
