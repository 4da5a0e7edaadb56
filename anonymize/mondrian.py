"""Multidimensional local recoding: Mondrian, strict and relaxed (LeFevre et al. 2006).

Partitions are split at the median of the widest (normalized) attribute, all partitions of
one round at once: rows stay grouped by partition in contiguous segments, medians come from
per-partition histograms of integer codes, and the loop runs over rounds, never over rows.
Categorical codes follow the hierarchy's leaf order, so each partition's value range has one
lowest common ancestor, which becomes its label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from anonymize.config import Config
from anonymize.criteria import BoolArray
from anonymize.emd import SensitiveReference
from anonymize.encoding import EncodedColumn, IntArray
from anonymize.errors import KAnonymityNotReached
from anonymize.flash import Progress
from anonymize.mondrian_labels import hierarchical, label_partitions
from anonymize.recoding import Recoding


@dataclass
class _Active:
    """Rows still being split, laid out partition by partition (codes: one row per column)."""

    rows: IntArray
    codes: IntArray
    sensitive: dict[str, IntArray]
    starts: IntArray
    sizes: IntArray


class _Splitter:
    """Finds allowable median splits of many partitions on one column at a time."""

    def __init__(
        self,
        config: Config,
        sizes: Mapping[str, int],
        references: Mapping[str, SensitiveReference],
    ) -> None:
        self.criteria = config.criteria
        self.relaxed = config.relaxed_mondrian
        self.minimum = config.minimal_class_size
        self.sizes = sizes
        self.references = references

    def satisfied(
        self, groups: IntArray, n_groups: int, sensitive: Mapping[str, IntArray]
    ) -> BoolArray:
        """Which groups of rows satisfy every criterion."""
        counts = np.bincount(groups, minlength=n_groups).astype(np.int64)
        histograms = {
            name: np.bincount(groups * size + sensitive[name], minlength=n_groups * size)
            .astype(np.int64)
            .reshape(n_groups, size)
            for name, size in self.sizes.items()
        }
        failing = np.zeros(n_groups, dtype=np.bool_)
        for criterion in self.criteria:
            failing |= criterion.failing(counts, histograms, self.references)
        return ~failing

    def split(
        self,
        values: IntArray,
        local: IntArray,
        sizes: IntArray,
        low: IntArray,
        high: IntArray,
        sensitive: Mapping[str, IntArray],
        groups: _ChildGroups | None,
    ) -> tuple[BoolArray, BoolArray]:
        """For partitions (rows `values`, partition `local`), which split and which rows go left.

        Strict splits cut at the median, or at the nearest boundary between children of the
        partition's lowest common ancestor when `groups` gives the hierarchy; relaxed splits
        (ordered columns only) share the median's records out between both halves.
        """
        parts = len(sizes)
        span = high - low + 1
        offsets = np.cumsum(span) - span
        bins = offsets[local] + (values - low[local])
        total_bins = int(span.sum())
        if total_bins <= 4 * len(values) + 65536:
            counts = np.bincount(bins, minlength=total_bins)
            keys = np.arange(total_bins)
        else:
            keys, counts = np.unique(bins, return_counts=True)
        bin_part = np.searchsorted(offsets, keys, side="right") - 1
        bin_value = keys - offsets[bin_part] + low[bin_part]
        first_bin = np.searchsorted(bin_part, np.arange(parts), side="left")
        cumulative = np.cumsum(counts)
        before = np.where(first_bin > 0, cumulative[np.maximum(first_bin - 1, 0)], 0)

        def count_below(threshold: IntArray) -> IntArray:
            """Records of each partition with a value below `threshold`."""
            index = np.searchsorted(keys, offsets + threshold - low, side="left") - 1
            inside = index >= first_bin
            result: IntArray = np.where(inside, cumulative[np.maximum(index, 0)] - before, 0)
            return result

        median_bin = np.searchsorted(cumulative, before + (sizes + 1) // 2, side="left")
        median = bin_value[median_bin]
        if self.relaxed and groups is None:
            below = count_below(median)
            take = sizes // 2 - below
            equal = values == median[local]
            running = np.cumsum(equal)
            segment_start = np.cumsum(sizes) - sizes
            base = np.where(segment_start > 0, running[np.maximum(segment_start - 1, 0)], 0)
            rank = running - base[local] - 1
            left = (values < median[local]) | (equal & (rank < take[local]))
            allowed = np.ones(parts, dtype=np.bool_)
        else:
            if groups is None:
                upper, lower = median + 1, median
            else:
                level = groups.child_level
                upper = groups.last[level, median] + 1
                lower = groups.first[level, median]
            n_upper, n_lower = count_below(upper), count_below(lower)

            def fits(n: IntArray) -> BoolArray:
                result: BoolArray = (n >= self.minimum) & (sizes - n >= self.minimum)
                return result

            fits_upper, fits_lower = fits(n_upper), fits(n_lower)
            prefer_upper = fits_upper & (
                ~fits_lower | (np.abs(2 * n_upper - sizes) <= np.abs(2 * n_lower - sizes))
            )
            threshold = np.where(prefer_upper, upper, lower)
            allowed = fits_upper | fits_lower
            left = values < threshold[local]
        children = local * 2 + (~left).astype(np.int64)
        ok = self.satisfied(children, 2 * parts, sensitive).reshape(parts, 2).all(axis=1)
        return allowed & ok, left


@dataclass(frozen=True)
class _ChildGroups:
    """For a hierarchical column: per level, the first and last leaf of each leaf's group."""

    first: IntArray
    last: IntArray
    child_level: IntArray


def _group_bounds(column: EncodedColumn) -> tuple[IntArray, IntArray]:
    """Per level and leaf, the first and last leaf code sharing its label (contiguous)."""
    leaves = np.arange(column.domain(0))
    first = np.zeros((column.height, len(leaves)), dtype=np.int64)
    last = np.zeros((column.height, len(leaves)), dtype=np.int64)
    for level, mapping in enumerate(column.level_maps):
        size = column.domain(level)
        low = np.full(size, len(leaves), dtype=np.int64)
        high = np.full(size, -1, dtype=np.int64)
        np.minimum.at(low, mapping, leaves)
        np.maximum.at(high, mapping, leaves)
        first[level], last[level] = low[mapping], high[mapping]
    return first, last


def _ancestor_level(column: EncodedColumn, low: IntArray, high: IntArray) -> IntArray:
    """Level of the lowest common ancestor of each leaf range."""
    level = np.full(len(low), column.height - 1, dtype=np.int64)
    for candidate in range(column.height - 1, -1, -1):
        mapping = column.level_maps[candidate]
        level = np.where(mapping[low] == mapping[high], candidate, level)
    return level


def _widths(
    columns: Sequence[EncodedColumn],
    bounds: Sequence[tuple[IntArray, IntArray] | None],
    floors: Sequence[int],
    low: IntArray,
    high: IntArray,
) -> npt.NDArray[np.float64]:
    """Normalized width of every partition on every column (LeFevre's choose_dimension).

    Numbers: value range over the table's; hierarchies: leaves under the lowest common
    ancestor over all leaves; flat categories: share of the code range.
    """
    widths = np.zeros(low.shape, dtype=np.float64)
    for j, column in enumerate(columns):
        lo, hi = low[:, j], high[:, j]
        bound = bounds[j]
        if bound is not None:
            level = _ancestor_level(column, lo, hi)
            first, last = bound
            members = last[level, lo] - first[level, lo] + 1
            # Below the floor level labels no longer change, so splitting gains nothing.
            widths[:, j] = np.where(
                (lo == hi) | (level <= floors[j]), 0.0, members / column.domain(0)
            )
        elif column.numeric_values is not None:
            values = column.numeric_values
            span = float(values[-1] - values[0]) or 1.0
            widths[:, j] = (values[hi] - values[lo]) / span
        else:
            widths[:, j] = (hi - lo) / max(column.domain(0) - 1, 1)
    return widths


def _segment_rows(starts: IntArray, sizes: IntArray) -> tuple[IntArray, IntArray]:
    """Row positions of the given segments, and the local segment index of each."""
    total = int(sizes.sum())
    local = np.repeat(np.arange(len(sizes)), sizes)
    shift = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
    return np.arange(total) + shift, local


def mondrian(
    columns: Sequence[EncodedColumn],
    sensitive_codes: Mapping[str, IntArray],
    sensitive_sizes: Mapping[str, int],
    references: Mapping[str, SensitiveReference],
    config: Config,
    floors: Sequence[int],
    progress: Progress | None = None,
) -> Recoding:
    """Partition the records with Mondrian and label each partition's ranges."""
    rows = len(columns[0].codes)
    splitter = _Splitter(config, sensitive_sizes, references)
    whole = np.zeros(rows, dtype=np.int64)
    if not splitter.satisfied(whole, 1, sensitive_codes)[0]:
        raise KAnonymityNotReached(
            "the whole table does not satisfy "
            + ", ".join(c.describe() for c in config.criteria)
            + "; no recoding can"
        )
    # The narrowest integer type keeps the per-round gathers of the row layout cheap; one
    # contiguous row per column makes per-partition minima and single-column reads cheapest.
    widest = max(c.domain(0) for c in columns)
    narrow: type[np.signedinteger[Any]] = (
        np.int8 if widest < 2**7 else np.int16 if widest < 2**15 else np.int32
    )
    codes: IntArray = np.empty((len(columns), rows), dtype=narrow)
    for j, column in enumerate(columns):
        codes[j] = column.codes
    bounds = [
        _group_bounds(c) if hierarchical(c, floors[j]) else None for j, c in enumerate(columns)
    ]
    active = _Active(
        rows=np.arange(rows),
        codes=codes,
        sensitive={name: values.astype(np.int32) for name, values in sensitive_codes.items()},
        starts=np.zeros(1, dtype=np.int64),
        sizes=np.array([rows], dtype=np.int64),
    )
    final_rows: list[IntArray] = []
    final_low: list[IntArray] = []
    final_high: list[IntArray] = []
    final_sizes: list[IntArray] = []
    rounds = 0
    while len(active.sizes):
        rounds += 1
        low = np.minimum.reduceat(active.codes, active.starts, axis=1).T.astype(np.int64)
        high = np.maximum.reduceat(active.codes, active.starts, axis=1).T.astype(np.int64)
        widths = _widths(columns, bounds, floors, low, high)
        ranking = np.argsort(-widths, axis=1, kind="stable")
        goes_left = np.zeros(len(active.rows), dtype=np.bool_)
        splits = np.zeros(len(active.sizes), dtype=np.bool_)
        undecided = np.nonzero(active.sizes >= 2 * splitter.minimum)[0]
        for attempt in range(len(columns)):
            if not len(undecided):
                break
            dims = ranking[undecided, attempt]
            positive = widths[undecided, dims] > 0
            undecided, dims = undecided[positive], dims[positive]
            for j in np.unique(dims):
                parts = undecided[dims == j]
                positions, local = _segment_rows(active.starts[parts], active.sizes[parts])
                bound = bounds[j]
                groups = None
                if bound is not None:
                    level = _ancestor_level(columns[j], low[parts, j], high[parts, j])
                    groups = _ChildGroups(bound[0], bound[1], np.maximum(level - 1, 0))
                accepted, left = splitter.split(
                    active.codes[j][positions].astype(np.int64),
                    local,
                    active.sizes[parts],
                    low[parts, j],
                    high[parts, j],
                    {name: values[positions] for name, values in active.sensitive.items()},
                    groups,
                )
                splits[parts[accepted]] = True
                chosen_rows = accepted[local]
                goes_left[positions[chosen_rows]] = left[chosen_rows]
            undecided = undecided[~splits[undecided]]
        done = np.nonzero(~splits)[0]
        if len(done):
            positions, local = _segment_rows(active.starts[done], active.sizes[done])
            final_rows.append(active.rows[positions])
            final_low.append(low[done])
            final_high.append(high[done])
            final_sizes.append(active.sizes[done])
        active = _regroup(active, splits, goes_left)
        if progress is not None:
            settled = sum(len(r) for r in final_rows)
            progress("mondrian", settled / rows)
    order = np.concatenate(final_rows)
    sizes = np.concatenate(final_sizes)
    partition = np.empty(rows, dtype=np.int64)
    partition[order] = np.repeat(np.arange(len(sizes)), sizes)
    labels, label_codes, released_ncp = label_partitions(
        columns, np.concatenate(final_low), np.concatenate(final_high), partition, floors
    )
    return Recoding(
        algorithm="mondrian-relaxed" if config.relaxed_mondrian else "mondrian",
        labels=labels,
        label_codes=label_codes,
        kept=np.ones(rows, dtype=np.bool_),
        released_ncp=released_ncp,
        transformation=None,
        details={"partitions": float(len(sizes)), "rounds": float(rounds)},
    )


def _regroup(active: _Active, splits: BoolArray, goes_left: BoolArray) -> _Active:
    """Keep the split partitions, each as a left segment followed by a right segment."""
    parts = np.nonzero(splits)[0]
    sizes = active.sizes[parts]
    if len(parts) == len(active.sizes):
        # Every partition splits (all early rounds): the rows stay where they are.
        positions = None
        local = np.repeat(np.arange(len(sizes)), sizes)
        left = goes_left
    else:
        positions, local = _segment_rows(active.starts[parts], sizes)
        left = goes_left[positions]
    starts = np.cumsum(sizes) - sizes
    running = np.cumsum(left)
    # Per-segment figures stay short; only the final arithmetic runs over every row.
    before = np.where(starts > 0, running[np.maximum(starts - 1, 0)], 0)
    left_sizes = running[starts + sizes - 1] - before
    # A left row goes after the segment's earlier left rows; a right row after all its
    # segment's left rows and its earlier right rows.
    to_left = (starts - before - 1)[local] + running
    to_right = (left_sizes + before)[local] - running + np.arange(len(local))
    target = np.where(left, to_left, to_right)
    order = np.empty(len(local), dtype=np.int64)
    order[target] = np.arange(len(local)) if positions is None else positions
    child_sizes = np.stack([left_sizes, sizes - left_sizes], axis=1).ravel()
    return _Active(
        rows=np.take(active.rows, order),
        codes=np.take(active.codes, order, axis=1),
        sensitive={name: np.take(values, order) for name, values in active.sensitive.items()},
        starts=np.cumsum(child_sizes) - child_sizes,
        sizes=child_sizes,
    )
