"""Re-identification risk of a release under the prosecutor model (El Emam & Dankar 2008)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Risk:
    """Prosecutor risk: highest 1/|E|, mean over records (= classes / records), share below k."""

    highest: float
    average: float
    records_below_k: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict for reports."""
        return {
            "highest": self.highest,
            "average": self.average,
            "records_below_k": self.records_below_k,
        }


def prosecutor_risk(class_sizes: Sequence[int] | npt.NDArray[np.int64], k: int) -> Risk:
    """Risk figures from the sizes of the released classes."""
    sizes = np.asarray(class_sizes, dtype=np.float64)
    if sizes.size == 0:
        return Risk(0.0, 0.0, 0.0)
    records = float(sizes.sum())
    return Risk(
        highest=float(1.0 / sizes.min()),
        average=float(len(sizes) / records),
        records_below_k=float(sizes[sizes < k].sum() / records),
    )
