"""Information-loss models the optimal search minimizes, computed on class tables.

Discernibility (Bayardo & Agrawal 2005) charges each class |E|^2 and each suppressed record
|D|, as ARX does; AECS is |D| over the number of classes, all suppressed records forming one
(LeFevre et al. 2006); non-uniform entropy (de Waal & Willenborg 1999, log base 2) and the
normalized certainty penalty (Xu et al. 2006) are sums over records and columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from anonymize.classes import ClassTable
from anonymize.encoding import EncodedColumn

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class LossModel(Protocol):
    """A quality model: its value, a monotonic lower bound, and whether it is monotonic."""

    name: str

    def monotonic(self, suppressing: bool) -> bool:
        """Whether generalizing can never lower the value."""
        ...

    def value(self, table: ClassTable, failing: BoolArray) -> float:
        """Loss of the transformation, failing classes suppressed."""
        ...

    def lower_bound(self, table: ClassTable) -> float:
        """A bound <= value here and <= the value of every generalization."""
        ...


class Discernibility:
    """DM: sum of |E|^2 over released classes plus |D| per suppressed record."""

    name = "dm"

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def monotonic(self, suppressing: bool) -> bool:
        """Monotonic only without suppression."""
        return not suppressing

    def value(self, table: ClassTable, failing: BoolArray) -> float:
        """DM with ARX's charge for suppressed records."""
        kept = table.counts[~failing]
        return float((kept * kept).sum() + table.counts[failing].sum() * self.rows)

    def lower_bound(self, table: ClassTable) -> float:
        """Sum of squares of all classes: merging only grows it."""
        return float((table.counts * table.counts).sum())


class AverageClassSize:
    """AECS: records over classes, all suppressed records forming one class (ARX)."""

    name = "aecs"

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def monotonic(self, suppressing: bool) -> bool:
        """Monotonic only without suppression."""
        return not suppressing

    def value(self, table: ClassTable, failing: BoolArray) -> float:
        """|D| / (released classes + 1 if anything is suppressed)."""
        classes = int((~failing).sum()) + (1 if failing.any() else 0)
        return self.rows / classes

    def lower_bound(self, table: ClassTable) -> float:
        """|D| over all classes, ignoring suppression."""
        return self.rows / table.size


class _PerCellLoss:
    """A loss that is a sum over columns of a per-level penalty of each record's label."""

    name = "per-cell"

    def __init__(self, penalties: Sequence[Sequence[FloatArray]], suppressed_penalty: float):
        self.penalties = penalties
        self.suppressed_penalty = suppressed_penalty

    def monotonic(self, suppressing: bool) -> bool:
        """Generalization raises every record's penalty; suppression is charged the maximum."""
        return not suppressing

    def _per_class(self, table: ClassTable) -> FloatArray:
        loss = np.zeros(table.size)
        for j, level in enumerate(table.levels):
            loss += self.penalties[j][level][table.codes[j]]
        return loss

    def value(self, table: ClassTable, failing: BoolArray) -> float:
        """Released records pay their penalty, suppressed ones the fixed charge."""
        per_class = self._per_class(table) * table.counts
        return float(
            per_class[~failing].sum() + table.counts[failing].sum() * self.suppressed_penalty
        )

    def lower_bound(self, table: ClassTable) -> float:
        """Every record at its generalized penalty, none suppressed."""
        return float((self._per_class(table) * table.counts).sum())


def ncp_penalties(column: EncodedColumn) -> list[FloatArray]:
    """Per level, the NCP of each label: value range share (numbers) or leaf share (categories)."""
    result = []
    leaves = column.domain(0)
    for level in range(column.height):
        mapping = column.level_maps[level]
        size = column.domain(level)
        if column.numeric_values is not None:
            values = column.numeric_values
            span = float(values.max() - values.min()) or 1.0
            low = np.full(size, np.inf)
            high = np.full(size, -np.inf)
            np.minimum.at(low, mapping, values)
            np.maximum.at(high, mapping, values)
            result.append((high - low) / span)
        else:
            members = np.bincount(mapping, minlength=size).astype(np.float64)
            result.append(np.where(members > 1, members / leaves, 0.0))
    return result


class CertaintyPenalty(_PerCellLoss):
    """NCP summed over records and columns; suppressed records pay 1 per column."""

    name = "ncp"

    def __init__(self, columns: Sequence[EncodedColumn]) -> None:
        super().__init__([ncp_penalties(c) for c in columns], float(len(columns)))


def entropy_terms(column: EncodedColumn) -> tuple[FloatArray, list[FloatArray]]:
    """log2 of the record count of each original value, and of each label per level."""
    counts = np.bincount(column.codes, minlength=column.domain(0)).astype(np.float64)
    original = np.log2(np.maximum(counts, 1.0))
    per_level = []
    for level in range(column.height):
        label_counts = np.bincount(
            column.level_maps[level], weights=counts, minlength=column.domain(level)
        )
        per_level.append(np.log2(np.maximum(label_counts, 1.0)))
    return original, per_level


class NonUniformEntropy:
    """Sum over records and columns of -log2 P(original value | generalized label).

    As in ARX, the loss depends on the levels alone: a suppressed record is charged what its
    generalized form would cost, so suppression adds nothing. This reproduces ARX's expected
    optima on Adult (407,289.5389 at k=5; 255,559.8546 with 4% suppression).
    """

    name = "entropy"

    def __init__(self, columns: Sequence[EncodedColumn]) -> None:
        self.per_level: list[list[float]] = []
        for column in columns:
            original, labels = entropy_terms(column)
            counts = np.bincount(column.codes, minlength=column.domain(0)).astype(np.float64)
            self.per_level.append(
                [
                    float((counts * (labels[level][column.level_maps[level]] - original)).sum())
                    for level in range(column.height)
                ]
            )

    def monotonic(self, suppressing: bool) -> bool:
        """Always monotonic: a coarser label never has fewer records."""
        return True

    def of_levels(self, levels: Sequence[int]) -> float:
        """Loss of a transformation from its levels alone."""
        return sum(self.per_level[j][level] for j, level in enumerate(levels))

    def value(self, table: ClassTable, failing: BoolArray) -> float:
        """Loss at the table's levels."""
        return self.of_levels(table.levels)

    def lower_bound(self, table: ClassTable) -> float:
        """The value itself (monotonic)."""
        return self.of_levels(table.levels)
