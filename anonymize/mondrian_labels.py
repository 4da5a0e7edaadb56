"""Readable labels and certainty penalties for Mondrian partitions.

Numbers become ranges (30-39), hierarchical categories the lowest common ancestor of the
partition's leaf range, and categories without a real hierarchy the set of their values when it
has at most MAX_LISTED_VALUES members, else `*`. Names, addresses, dates and free text never get
here: their floors (definition.FLOORS) make them hierarchical, so their cells list no values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from anonymize.encoding import EncodedColumn, IntArray
from anonymize.hierarchy import ROOT
from anonymize.recoding import FloatArray, ObjectArray

SET_SEPARATOR = "|"
#: The most original values a generalized cell lists (A|B|C); a larger set is released as `*`,
#: since a long list says nearly as much as the values themselves.
MAX_LISTED_VALUES = 3


def _numeric_labels(
    column: EncodedColumn, low: IntArray, high: IntArray
) -> tuple[ObjectArray, FloatArray]:
    leaves = column.level_labels[0]
    values = column.numeric_values
    assert values is not None
    span = float(values[-1] - values[0]) or 1.0
    labels = np.where(
        low == high,
        leaves[low],
        np.char.add(np.char.add(leaves[low].astype(str), "-"), leaves[high].astype(str)),
    ).astype(object)
    return labels, (values[high] - values[low]) / span


def _hierarchy_labels(
    column: EncodedColumn, low: IntArray, high: IntArray, floor: int
) -> tuple[ObjectArray, FloatArray, IntArray]:
    level = np.full(len(low), column.height - 1, dtype=np.int64)
    for candidate in range(column.height - 1, floor - 1, -1):
        mapping = column.level_maps[candidate]
        level = np.where(mapping[low] == mapping[high], candidate, level)
    labels = np.empty(len(low), dtype=object)
    ncp = np.zeros(len(low))
    codes = np.zeros(len(low), dtype=np.int64)
    leaves = column.domain(0)
    for candidate in np.unique(level):
        chosen = level == candidate
        mapping = column.level_maps[candidate]
        code = mapping[low[chosen]]
        members = np.bincount(mapping, minlength=column.domain(candidate))[code]
        labels[chosen] = column.level_labels[candidate][code]
        ncp[chosen] = np.where(members > 1, members / leaves, 0.0)
        codes[chosen] = candidate * leaves + code
    return labels, ncp, codes


def _set_labels(
    column: EncodedColumn, low: IntArray, high: IntArray
) -> tuple[ObjectArray, FloatArray, IntArray]:
    leaves = column.level_labels[0]
    size = column.domain(0)
    # A set too large to list is released as the whole domain: label, penalty and code alike.
    listed = high - low + 1 <= MAX_LISTED_VALUES
    low = np.where(listed, low, 0)
    high = np.where(listed, high, size - 1)
    labels = np.empty(len(low), dtype=object)
    for index, (a, b) in enumerate(zip(low.tolist(), high.tolist(), strict=True)):
        if a == b:
            labels[index] = leaves[a]
        elif a == 0 and b == size - 1:
            labels[index] = ROOT
        else:
            labels[index] = SET_SEPARATOR.join(str(v) for v in leaves[a : b + 1])
    members = (high - low + 1).astype(np.float64)
    return labels, np.where(members > 1, members / size, 0.0), low * size + high


def hierarchical(column: EncodedColumn, floor: int) -> bool:
    """Whether Mondrian treats the column through its hierarchy (not as numbers or a flat set)."""
    if column.numeric_values is not None and floor == 0:
        return False
    return column.height > 2 or floor > 0


def label_partitions(
    columns: Sequence[EncodedColumn],
    low: IntArray,
    high: IntArray,
    partition: IntArray,
    floors: Sequence[int],
) -> tuple[dict[str, pd.Categorical], list[IntArray], float]:
    """Per record: label of every column and a code per distinct label; the NCP summed over
    records and columns."""
    labels: dict[str, pd.Categorical] = {}
    label_codes: list[IntArray] = []
    members = np.bincount(partition, minlength=len(low)).astype(np.float64)
    total_ncp = 0.0
    for j, column in enumerate(columns):
        lo, hi = low[:, j], high[:, j]
        range_codes = lo * column.domain(0) + hi
        if hierarchical(column, floors[j]):
            part_labels, ncp, range_codes = _hierarchy_labels(column, lo, hi, floors[j])
        elif column.numeric_values is not None:
            part_labels, ncp = _numeric_labels(column, lo, hi)
        else:
            part_labels, ncp, range_codes = _set_labels(column, lo, hi)
        codes, distinct = pd.factorize(part_labels)
        # Narrow codes: pandas keeps them as they are, and the per-record gathers move less.
        narrow: type[np.signedinteger[Any]] = np.int16 if len(distinct) < 2**15 else np.int32
        small: IntArray = codes.astype(narrow)
        record_codes: IntArray = small[partition]
        labels[column.name] = pd.Categorical.from_codes(
            record_codes, pd.Index(distinct), validate=False
        )
        wide: type[np.signedinteger[Any]] = (
            np.int32 if int(range_codes.max(initial=0)) < 2**31 else np.int64
        )
        ranges: IntArray = range_codes.astype(wide)
        label_codes.append(ranges[partition])
        total_ncp += float((ncp * members).sum())
    return labels, label_codes, total_ncp
