"""Earth mover's distance between a class's sensitive distribution and the table's.

Li et al. 2007 (t-closeness): equal distance for unordered values (half the L1 norm),
ordered distance for numbers ((1/(m-1)) times the sum of absolute cumulative differences),
and hierarchical distance for values under a hierarchy (the ground distance of two values is
the level of their lowest common ancestor over the hierarchy's height).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anonymize.encoding import IntArray

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SensitiveReference:
    """The whole table's distribution of a sensitive column, and the shape of its values.

    `tree[level]` maps each value code to its node at that level when a hierarchy is given.
    """

    histogram: IntArray
    ordered: bool
    tree: tuple[IntArray, ...] | None = None


def earth_movers_distance(histogram: IntArray, reference: SensitiveReference) -> FloatArray:
    """EMD of every class (row of `histogram`) to the reference distribution."""
    totals = histogram.sum(axis=1, keepdims=True).astype(np.float64)
    shares = np.divide(histogram, totals, out=np.zeros(histogram.shape), where=totals > 0)
    overall = reference.histogram / max(int(reference.histogram.sum()), 1)
    difference = shares - overall
    if reference.tree is not None:
        return hierarchical_distance(difference, reference.tree)
    if reference.ordered:
        width = max(histogram.shape[1] - 1, 1)
        ordered: FloatArray = np.abs(np.cumsum(difference, axis=1)).sum(axis=1) / width
        return ordered
    equal: FloatArray = 0.5 * np.abs(difference).sum(axis=1)
    return equal


def hierarchical_distance(difference: FloatArray, tree: tuple[IntArray, ...]) -> FloatArray:
    """Sum over inner nodes N of height(N)/H * min(positive, negative extra of N's children)."""
    height = len(tree) - 1
    total = np.zeros(difference.shape[0])
    extra = difference
    for level in range(1, height + 1):
        parent_of = np.zeros(int(tree[level - 1].max()) + 1, dtype=np.int64)
        parent_of[tree[level - 1]] = tree[level]
        # Children are summed into their parents with a one-hot (children x parents) matrix.
        assign = np.zeros((len(parent_of), int(tree[level].max()) + 1))
        assign[np.arange(len(parent_of)), parent_of] = 1.0
        positive = np.maximum(extra, 0.0) @ assign
        negative = np.maximum(-extra, 0.0) @ assign
        total += level / height * np.minimum(positive, negative).sum(axis=1)
        extra = positive - negative
    return total
