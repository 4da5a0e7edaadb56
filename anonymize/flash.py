"""Optimal full-domain generalization: lattice search with predictive tagging and pruning.

After Flash (Kohlmayer et al. 2012): anonymity is monotonic in the lattice, so checking one
node tags all its generalizations (anonymous) or all its specializations (not anonymous).
Nodes are classified by binary search along upward paths, bottom-up. The optimum is then
sought among the minimal anonymous nodes for monotonic quality models, or among all
anonymous nodes pruned by a monotonic lower bound otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonymize.classes import ClassTable, Records, Roller
from anonymize.criteria import BoolArray, Criterion
from anonymize.emd import SensitiveReference
from anonymize.lattice import Lattice
from anonymize.quality import LossModel, NonUniformEntropy

UNKNOWN, ANONYMOUS, NOT_ANONYMOUS = 0, 1, 2
# Hubs have at most records / HUB_RATIO classes (their domain product bounds them).
HUB_RATIO = 16
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SearchOutcome:
    """The optimal node, its loss and classes, and how much of the lattice was touched."""

    levels: tuple[int, ...]
    loss: float
    table: ClassTable
    failing: BoolArray
    lattice_size: int
    nodes_checked: int


class TableCache:
    """Class tables of evaluated nodes, rolled up from the smallest cached specialization.

    A node with no small cached specialization would be counted from all the records. A hub
    is counted instead: the lowest specialization whose domain product is far below the
    record count. The node rolls up from the hub, and so do later nodes above it.
    """

    def __init__(
        self,
        roller: Roller,
        base: Records,
        budget: int = 4_000_000,
        floors: Sequence[int] | None = None,
    ) -> None:
        self.roller = roller
        self.base = base
        self.budget = budget
        self.floors = list(floors) if floors is not None else [0] * len(base.levels)
        self.domains = [
            [column.domain(level) for level in range(column.height)] for column in roller.columns
        ]
        self.tables: dict[tuple[int, ...], ClassTable] = {}
        self.keys: list[tuple[int, ...]] = []
        self.key_levels = np.zeros((0, len(base.levels)), dtype=np.int64)
        self.key_sizes = np.zeros(0, dtype=np.int64)
        # Distinct nodes the search asked for (hubs it never asked for are not counted).
        self.requested: set[tuple[int, ...]] = set()
        self.evaluated = 0

    def get(self, levels: tuple[int, ...]) -> ClassTable:
        """The class table at `levels`."""
        if levels not in self.requested:
            self.requested.add(levels)
            self.evaluated += 1
        cached = self.tables.get(levels)
        if cached is not None:
            return cached
        source = self._source(levels)
        limit = self.base.size // HUB_RATIO
        if source.size > limit:
            hub = self._hub(levels, limit)
            if hub != levels:
                hub_table = self.tables.get(hub)
                if hub_table is None:
                    hub_table = self.roller.roll_up(self._source(hub), hub)
                    self._store(hub, hub_table)
                if hub_table.size < source.size:
                    source = hub_table
        table = self.roller.roll_up(source, levels)
        self._store(levels, table)
        return table

    def _source(self, levels: tuple[int, ...]) -> ClassTable | Records:
        """The smallest cached table at or below `levels`, else the records."""
        source: ClassTable | Records = self.base
        if self.keys:
            below = np.all(self.key_levels <= np.asarray(levels), axis=1)
            if below.any():
                sizes = np.where(below, self.key_sizes, np.iinfo(np.int64).max)
                best = int(np.argmin(sizes))
                if sizes[best] < source.size:
                    source = self.tables[self.keys[best]]
        return source

    def _hub(self, levels: tuple[int, ...], limit: int) -> tuple[int, ...]:
        """Lower `levels` one column at a time, least product growth first, within `limit`."""
        current = list(levels)
        product = math.prod(self.domains[j][level] for j, level in enumerate(current))
        while True:
            options = [
                (self.domains[j][level - 1] / self.domains[j][level], j)
                for j, level in enumerate(current)
                if level > self.floors[j]
            ]
            growth, column = min(options, default=(0.0, -1))
            if column < 0 or product * growth > limit:
                return tuple(current)
            current[column] -= 1
            product = math.prod(self.domains[j][level] for j, level in enumerate(current))

    def _store(self, levels: tuple[int, ...], table: ClassTable) -> None:
        # Keep the smallest tables: they are cheap and the best sources for later roll-ups.
        if int(self.key_sizes.sum()) + table.size > self.budget:
            keep = np.argsort(self.key_sizes, kind="stable")
            keep = keep[np.cumsum(self.key_sizes[keep]) <= self.budget // 2]
            for index in set(range(len(self.keys))) - set(keep.tolist()):
                del self.tables[self.keys[index]]
            self.keys = [self.keys[i] for i in keep]
            self.key_levels = self.key_levels[keep]
            self.key_sizes = self.key_sizes[keep]
        self.tables[levels] = table
        self.keys.append(levels)
        self.key_levels = np.vstack([self.key_levels, np.asarray(levels)[None, :]])
        self.key_sizes = np.append(self.key_sizes, table.size)


class Checker:
    """Decides anonymity of a class table under all criteria and the suppression limit."""

    def __init__(
        self,
        criteria: Sequence[Criterion],
        references: Mapping[str, SensitiveReference],
        max_outliers: int,
    ) -> None:
        self.criteria = list(criteria)
        self.references = references
        self.max_outliers = max_outliers

    def failing(self, table: ClassTable) -> BoolArray:
        """Classes that violate any criterion."""
        mask = np.zeros(table.size, dtype=np.bool_)
        for criterion in self.criteria:
            mask |= criterion.failing(table.counts, table.histograms, self.references)
        return mask

    def anonymous(self, table: ClassTable) -> bool:
        """True when the failing classes fit in the suppression limit."""
        return int(table.counts[self.failing(table)].sum()) <= self.max_outliers


def classify(
    lattice: Lattice,
    cache: TableCache,
    checker: Checker,
    progress: Progress | None,
    domains: Sequence[Sequence[int]] | None = None,
) -> npt.NDArray[np.int8]:
    """Tag every node ANONYMOUS or NOT_ANONYMOUS with binary search on upward paths.

    Paths generalize first the column with the most distinct labels at its current level
    (`domains[column][level]`), and the search probes the upper third of a path first:
    both reach small class tables sooner, which is where checks are cheap.
    """
    state = np.zeros(lattice.size, dtype=np.int8)
    order = np.lexsort((np.arange(lattice.size), lattice.heights))
    for position, start in enumerate(order):
        if state[start] != UNKNOWN:
            continue
        path = [int(start)]
        while True:
            current = lattice.level_list(path[-1])
            nexts = [(s, j) for s, j in lattice.successors(path[-1]) if state[s] == UNKNOWN]
            if not nexts:
                break
            if domains is None:
                path.append(nexts[0][0])
            else:
                # Generalize first the column with the most labels at its current level.
                path.append(max(nexts, key=lambda pair: domains[pair[1]][current[pair[1]]])[0])
        low, high = 0, len(path) - 1
        while low <= high:
            middle = (low + 2 * high) // 3
            node = path[middle]
            if state[node] == UNKNOWN:
                if checker.anonymous(cache.get(tuple(lattice.level_list(node)))):
                    state[lattice.above(node) & (state == UNKNOWN)] = ANONYMOUS
                else:
                    state[lattice.below(node) & (state == UNKNOWN)] = NOT_ANONYMOUS
            if state[node] == ANONYMOUS:
                high = middle - 1
            else:
                low = middle + 1
        if progress is not None and position % 64 == 0:
            progress("search", float((state != UNKNOWN).mean()) * 0.5)
    return state


def optimal_search(
    lattice: Lattice,
    cache: TableCache,
    checker: Checker,
    loss: LossModel,
    progress: Progress | None = None,
    domains: Sequence[Sequence[int]] | None = None,
) -> SearchOutcome | None:
    """The anonymous node of least loss (ties: lowest height, then lowest id), or None."""
    state = classify(lattice, cache, checker, progress, domains)
    anonymous = state == ANONYMOUS
    if not anonymous.any():
        return None
    suppressing = checker.max_outliers > 0
    if loss.monotonic(suppressing):
        candidates = np.nonzero(lattice.minimal(anonymous))[0]
    else:
        candidates = np.nonzero(anonymous)[0]
    candidates = candidates[np.lexsort((candidates, lattice.heights[candidates]))]
    if isinstance(loss, NonUniformEntropy):
        # Its value depends on the levels alone: rank candidates without building classes.
        values = np.array([loss.of_levels(lattice.levels[node]) for node in candidates])
        candidates = candidates[[int(np.argmin(values))]]
    pruned = np.zeros(lattice.size, dtype=np.bool_)
    best: tuple[float, int] | None = None
    best_table: ClassTable | None = None
    best_failing: BoolArray | None = None
    for position, node in enumerate(candidates):
        if pruned[node]:
            continue
        levels = tuple(int(v) for v in lattice.levels[node])
        table = cache.get(levels)
        failing = checker.failing(table)
        value = loss.value(table, failing)
        if best is None or value < best[0] - 1e-9:
            best, best_table, best_failing = (value, int(node)), table, failing
        if not loss.monotonic(suppressing) and loss.lower_bound(table) >= best[0] - 1e-9:
            pruned |= lattice.above(int(node))
        if progress is not None and position % 64 == 0:
            progress("search", 0.5 + 0.5 * position / len(candidates))
    assert best is not None and best_table is not None and best_failing is not None
    return SearchOutcome(
        levels=tuple(int(v) for v in lattice.levels[best[1]]),
        loss=best[0],
        table=best_table,
        failing=best_failing,
        lattice_size=lattice.size,
        nodes_checked=cache.evaluated,
    )
