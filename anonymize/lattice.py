"""The generalization lattice: every combination of one level per quasi-identifier."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from anonymize.encoding import IntArray

BoolArray = npt.NDArray[np.bool_]


class Lattice:
    """Nodes as rows of levels, addressed by mixed-radix ids, ordered bottom-up."""

    def __init__(self, floors: Sequence[int], tops: Sequence[int]) -> None:
        self.floors = np.asarray(floors, dtype=np.int64)
        self.tops = np.asarray(tops, dtype=np.int64)
        spans = self.tops - self.floors + 1
        self.strides = np.ones(len(spans), dtype=np.int64)
        for j in range(len(spans) - 2, -1, -1):
            self.strides[j] = self.strides[j + 1] * spans[j + 1]
        self.size = int(np.prod(spans))
        offsets = np.indices(tuple(int(s) for s in spans)).reshape(len(spans), -1).T
        self.levels: IntArray = offsets + self.floors
        self.heights: IntArray = offsets.sum(axis=1)
        # Plain lists: the path walk asks for single nodes, where numpy rows are slow.
        self._rows: list[list[int]] = self.levels.tolist()
        self._strides: list[int] = self.strides.tolist()
        self._tops: list[int] = self.tops.tolist()

    def level_list(self, node: int) -> list[int]:
        """Levels of one node as a list."""
        return self._rows[node]

    def successors(self, node: int) -> list[tuple[int, int]]:
        """Direct generalizations as (node, column raised one level)."""
        levels = self._rows[node]
        return [
            (node + self._strides[j], j) for j in range(len(levels)) if levels[j] < self._tops[j]
        ]

    def above(self, node: int) -> BoolArray:
        """Mask of the node and all its generalizations."""
        mask: BoolArray = np.all(self.levels >= self.levels[node], axis=1)
        return mask

    def below(self, node: int) -> BoolArray:
        """Mask of the node and all its specializations."""
        mask: BoolArray = np.all(self.levels <= self.levels[node], axis=1)
        return mask

    def minimal(self, mask: BoolArray) -> BoolArray:
        """Nodes in mask none of whose direct specializations is in mask."""
        result = mask.copy()
        for j, stride in enumerate(self.strides):
            has_pred = self.levels[:, j] > self.floors[j]
            ids = np.nonzero(has_pred)[0]
            result[ids] &= ~mask[ids - stride]
        return result
