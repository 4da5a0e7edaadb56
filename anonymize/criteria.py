"""Privacy models as pluggable criteria, each judging equivalence classes in bulk.

k-anonymity (Sweeney 2002); distinct, entropy and recursive (c,l)-diversity (Machanavajjhala
et al. 2007); t-closeness with the earth mover's distance (Li et al. 2007). All are monotonic
under merging of classes, so the lattice search may prune with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from anonymize.emd import SensitiveReference, earth_movers_distance
from anonymize.encoding import IntArray
from anonymize.hierarchy import Hierarchy

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class Criterion(Protocol):
    """A privacy model judged per equivalence class."""

    @property
    def column(self) -> str | None:
        """The sensitive column it protects, if any."""
        ...

    @property
    def minimal_class_size(self) -> int:
        """The smallest class that can satisfy it."""
        ...

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Mask of the classes that violate the model."""
        ...

    def describe(self) -> str:
        """Human-readable name with parameters."""
        ...


@dataclass(frozen=True)
class KAnonymity:
    """Every class holds at least k records (Sweeney 2002)."""

    k: int
    column: str | None = None

    @property
    def minimal_class_size(self) -> int:
        """A class of k records can satisfy k-anonymity."""
        return self.k

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Classes smaller than k."""
        return counts < self.k

    def describe(self) -> str:
        """E.g. '5-anonymity'."""
        return f"{self.k}-anonymity"


@dataclass(frozen=True)
class DistinctLDiversity:
    """Every class holds at least l distinct sensitive values."""

    column: str
    l: int  # noqa: E741 - the letter of the literature

    @property
    def minimal_class_size(self) -> int:
        """l distinct values need l records."""
        return self.l

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Classes with fewer than l distinct values."""
        distinct: IntArray = (histograms[self.column] > 0).sum(axis=1)
        return distinct < self.l

    def describe(self) -> str:
        """E.g. 'distinct-3-diversity of disease'."""
        return f"distinct-{self.l}-diversity of {self.column}"


def class_entropy(histogram: IntArray) -> FloatArray:
    """Shannon entropy (natural log) of each class's sensitive distribution."""
    totals = histogram.sum(axis=1, keepdims=True).astype(np.float64)
    shares = np.divide(histogram, totals, out=np.zeros(histogram.shape), where=totals > 0)
    logs = np.log(shares, out=np.zeros_like(shares), where=shares > 0)
    entropy: FloatArray = -(shares * logs).sum(axis=1)
    return entropy


@dataclass(frozen=True)
class EntropyLDiversity:
    """The entropy of every class's sensitive values is at least log(l)."""

    column: str
    l: float  # noqa: E741

    @property
    def minimal_class_size(self) -> int:
        """Entropy log(l) needs at least ceil(l) records."""
        return int(np.ceil(self.l))

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Classes whose entropy falls short of log(l) (with a rounding tolerance)."""
        result: BoolArray = class_entropy(histograms[self.column]) < np.log(self.l) - 1e-9
        return result

    def describe(self) -> str:
        """E.g. 'entropy-2-diversity of disease'."""
        return f"entropy-{self.l:g}-diversity of {self.column}"


@dataclass(frozen=True)
class RecursiveCLDiversity:
    """r1 < c (r_l + ... + r_m) for the sorted value counts r of every class."""

    column: str
    c: float
    l: int  # noqa: E741

    @property
    def minimal_class_size(self) -> int:
        """l distinct values need l records."""
        return self.l

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Classes whose most frequent value dominates the tail."""
        ranked = -np.sort(-histograms[self.column], axis=1)
        if ranked.shape[1] < self.l:
            return np.ones(len(counts), dtype=np.bool_)
        tail = ranked[:, self.l - 1 :].sum(axis=1)
        result: BoolArray = ranked[:, 0] >= self.c * tail
        return result

    def describe(self) -> str:
        """E.g. 'recursive-(3,2)-diversity of disease'."""
        return f"recursive-({self.c:g},{self.l})-diversity of {self.column}"


@dataclass(frozen=True)
class TCloseness:
    """The sensitive distribution of every class is within EMD t of the table's.

    With a hierarchy the ground distance is hierarchical (Li et al. 2007, sec. 4.3);
    otherwise ordered for numbers and equal for categories.
    """

    column: str
    t: float
    hierarchy: Hierarchy | None = None

    @property
    def minimal_class_size(self) -> int:
        """Any class size can be close in principle."""
        return 1

    def failing(
        self,
        counts: IntArray,
        histograms: Mapping[str, IntArray],
        references: Mapping[str, SensitiveReference],
    ) -> BoolArray:
        """Classes farther than t from the whole table."""
        distance = earth_movers_distance(histograms[self.column], references[self.column])
        result: BoolArray = distance > self.t + 1e-12
        return result

    def describe(self) -> str:
        """E.g. '0.2-closeness of disease'."""
        return f"{self.t:g}-closeness of {self.column}"
