"""A recoding of the quasi-identifiers, whichever algorithm produced it, and its utility."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymize.encoding import EncodedColumn, IntArray

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class Recoding:
    """Per record: the label of each quasi-identifier and whether it is released; the NCP
    summed over released records and columns."""

    algorithm: str
    labels: dict[str, pd.Categorical]
    label_codes: list[IntArray]
    kept: BoolArray
    released_ncp: float
    transformation: dict[str, int] | None = None
    details: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Utility:
    """Information loss of a release (ARX's conventions for DM and AECS)."""

    rows_in: int
    rows_out: int
    suppressed_rows: int
    equivalence_classes: int
    dm: int
    aecs: float
    entropy: float
    ncp: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict for reports."""
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "suppressed_rows": self.suppressed_rows,
            "equivalence_classes": self.equivalence_classes,
            "dm": self.dm,
            "aecs": self.aecs,
            "entropy": self.entropy,
            "ncp": self.ncp,
        }


def _dense(keys: IntArray) -> tuple[IntArray, int]:
    """Dense ids 0..n-1 for arbitrary integer keys (hashing, no sort)."""
    ids, uniques = pd.factorize(keys)
    return ids.astype(np.int64), len(uniques)


def _pair_counts(labels: IntArray, values: IntArray, width: int) -> IntArray:
    """Records per (label, original value), one row per label id; rows of absent labels are 0."""
    space = (int(labels.max()) + 1) * width if len(labels) else 0
    if space <= 4 * len(labels) + 4096:
        pairs = np.bincount(labels.astype(np.int64) * width + values, minlength=space)
        return pairs.reshape(-1, width)
    label_ids, label_count = _dense(labels)
    flat = np.bincount(label_ids * width + values, minlength=label_count * width)
    return flat.reshape(label_count, width)


def non_uniform_entropy(columns: Sequence[EncodedColumn], generalized: Sequence[IntArray]) -> float:
    """Sum over records and columns of -log2 P(original | label) (de Waal & Willenborg 1999)."""
    total = 0.0
    for column, labels in zip(columns, generalized, strict=True):
        # Sum over records = sum over (label, value) pairs weighted by their counts.
        pairs = _pair_counts(labels, column.codes, column.domain(0)).astype(np.float64)
        labels_total = np.broadcast_to(pairs.sum(axis=1, keepdims=True), pairs.shape)
        present = pairs > 0
        total -= float((pairs[present] * np.log2(pairs[present] / labels_total[present])).sum())
    return total


def utility(recoding: Recoding, columns: Sequence[EncodedColumn], class_sizes: IntArray) -> Utility:
    """DM, AECS, entropy and GCP of a recoding whose released classes have `class_sizes`."""
    rows_in = len(recoding.kept)
    rows_out = int(recoding.kept.sum())
    suppressed = rows_in - rows_out
    sizes = class_sizes.astype(np.int64)
    classes = len(sizes)
    width = max(len(columns), 1)
    ncp_sum = recoding.released_ncp + suppressed * width
    return Utility(
        rows_in=rows_in,
        rows_out=rows_out,
        suppressed_rows=suppressed,
        equivalence_classes=classes,
        dm=int((sizes * sizes).sum()) + suppressed * rows_in,
        aecs=rows_in / max(classes + (1 if suppressed else 0), 1),
        entropy=round(non_uniform_entropy(columns, recoding.label_codes), 4),
        ncp=ncp_sum / (rows_in * width) if rows_in else 0.0,
    )
