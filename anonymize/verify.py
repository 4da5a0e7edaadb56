"""Independent verification of a release, measured from the released table alone.

Deliberately shares no code with the search algorithms: classes are formed from the
released labels alone (the codes of their categories, or the labels themselves), so a
bookkeeping error in an algorithm cannot hide here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymize.config import Config
from anonymize.criteria import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymize.errors import VerificationFailed
from anonymize.hierarchy import Hierarchy

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Verification:
    """Privacy measured on a released table; `failures` is empty when it may be listed."""

    rows: int
    equivalence_classes: int
    k: int
    l_distinct: dict[str, int] = field(default_factory=dict)
    l_entropy: dict[str, float] = field(default_factory=dict)
    t: dict[str, float] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    class_sizes: IntArray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False
    )

    @property
    def passed(self) -> bool:
        """True when every criterion holds on the released table."""
        return not self.failures


def _label_codes(series: pd.Series) -> tuple[npt.NDArray[np.int64], int]:
    """A code per distinct label of a released column (missing labels get one of their own)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        size = len(series.cat.categories)
        if len(codes) and codes.min() >= 0:
            return codes.astype(np.int64), size
        return np.where(codes < 0, size, codes).astype(np.int64), size + 1
    factorized, uniques = pd.factorize(series, use_na_sentinel=False)
    return factorized.astype(np.int64), max(len(uniques), 1)


def _class_keys(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> tuple[IntArray, int]:
    """One integer per record, equal exactly when all its quasi-identifier labels are equal."""
    keys = np.zeros(len(released), dtype=np.int64)
    space = 1
    for name in quasi_identifiers:
        codes, size = _label_codes(released[name])
        if space * size >= 2**62:
            compressed, uniques = pd.factorize(keys)
            keys, space = compressed.astype(np.int64), len(uniques)
        keys *= size
        keys += codes
        space *= size
    return keys, space


def class_ids(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> tuple[IntArray, int]:
    """Class of every released record (records with equal labels share one) and the count."""
    keys, space = _class_keys(released, quasi_identifiers)
    if space <= 4 * len(keys) + 4096:
        present = np.bincount(keys, minlength=space) > 0
        dense = np.cumsum(present) - 1
        return dense[keys], int(present.sum())
    ids, uniques = pd.factorize(keys)
    return ids.astype(np.int64), len(uniques)


def class_sizes(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> IntArray:
    """Number of records in every class of the release."""
    keys, space = _class_keys(released, quasi_identifiers)
    if space <= 4 * len(keys) + 4096:
        counts = np.bincount(keys, minlength=space)
        return counts[counts > 0].astype(np.int64)
    _, sizes = np.unique(keys, return_counts=True)
    return sizes.astype(np.int64)


def measure_k(released: pd.DataFrame, quasi_identifiers: Sequence[str]) -> int:
    """Smallest number of records sharing one combination of quasi-identifier labels."""
    if released.empty:
        return 0
    return int(class_sizes(released, quasi_identifiers).min())


def _crosstab(
    released: pd.DataFrame, quasi_identifiers: Sequence[str], column: str
) -> pd.DataFrame:
    group, _ = class_ids(released, quasi_identifiers)
    return pd.crosstab(group, released[column].astype(str))


def measure_distinct_l(
    released: pd.DataFrame, quasi_identifiers: Sequence[str], column: str
) -> int:
    """Smallest number of distinct sensitive values in a class."""
    if released.empty:
        return 0
    return int((_crosstab(released, quasi_identifiers, column) > 0).sum(axis=1).min())


def measure_entropy_l(
    released: pd.DataFrame, quasi_identifiers: Sequence[str], column: str
) -> float:
    """Largest l with every class's sensitive entropy >= log(l), i.e. min exp(entropy)."""
    if released.empty:
        return 0.0
    table = _crosstab(released, quasi_identifiers, column).to_numpy(dtype=float)
    shares = table / table.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(shares > 0, shares * np.log(shares), 0.0)
    return float(np.exp(-terms.sum(axis=1)).min())


def holds_recursive_cl(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    column: str,
    c: float,
    l: int,  # noqa: E741
) -> bool:
    """Whether every class satisfies r1 < c (r_l + ... + r_m)."""
    table = _crosstab(released, quasi_identifiers, column).to_numpy()
    ranked = -np.sort(-table, axis=1)
    if ranked.shape[1] < l:
        return False
    return bool((ranked[:, 0] < c * ranked[:, l - 1 :].sum(axis=1)).all())


def hierarchical_emd(difference: pd.DataFrame, hierarchy: Hierarchy) -> npt.NDArray[np.float64]:
    """Li et al.'s hierarchical EMD per row of `difference` (columns are leaf values)."""
    height = hierarchy.height - 1
    total = np.zeros(len(difference))
    extra = difference
    for level in range(1, height + 1):
        parent = {row[level - 1]: row[level] for row in hierarchy.rows}
        keys = [parent[label] for label in extra.columns]
        positive = extra.clip(lower=0).T.groupby(keys).sum().T
        negative = (-extra).clip(lower=0).T.groupby(keys).sum().T
        total += level / height * np.minimum(positive, negative).sum(axis=1).to_numpy()
        extra = positive - negative
    return total


def measure_t(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    column: str,
    reference: pd.Series | None = None,
    hierarchy: Hierarchy | None = None,
) -> float:
    """Largest EMD between a class's sensitive distribution and the reference (Li et al. 2007).

    The reference defaults to the released column itself; with a hierarchy the distance is
    hierarchical, otherwise ordered for numeric values and equal for others.
    """
    if released.empty:
        return 1.0
    overall = (reference if reference is not None else released[column]).astype(str)
    values = pd.Index(sorted(set(overall) | set(released[column].astype(str))))
    numeric = pd.to_numeric(pd.Series(values), errors="coerce")
    ordered = bool(numeric.notna().all())
    if ordered:
        values = values[np.argsort(numeric.to_numpy(), kind="stable")]
    table = _crosstab(released, quasi_identifiers, column).reindex(columns=values, fill_value=0)
    counts = table.to_numpy(dtype=float)
    shares = counts / counts.sum(axis=1, keepdims=True)
    target = overall.value_counts().reindex(values, fill_value=0).to_numpy(dtype=float)
    target = target / target.sum()
    difference = shares - target
    if hierarchy is not None:
        frame = pd.DataFrame(difference, columns=list(values))
        return float(hierarchical_emd(frame, hierarchy).max())
    if ordered:
        distance = np.abs(np.cumsum(difference, axis=1)).sum(axis=1) / max(len(values) - 1, 1)
    else:
        distance = 0.5 * np.abs(difference).sum(axis=1)
    return float(distance.max())


def verify(
    released: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    config: Config,
    reference: pd.DataFrame | None = None,
) -> Verification:
    """Measure every criterion of `config` on the released table; raise VerificationFailed."""
    qis = list(quasi_identifiers)
    failures: list[str] = []
    sizes = class_sizes(released, qis) if not released.empty else np.zeros(0, dtype=np.int64)
    k = int(sizes.min()) if len(sizes) else 0
    classes = len(sizes)
    l_distinct: dict[str, int] = {}
    l_entropy: dict[str, float] = {}
    t_values: dict[str, float] = {}
    for criterion in config.criteria:
        if isinstance(criterion, KAnonymity) and k < criterion.k:
            failures.append(f"k measured {k} < {criterion.k}")
        elif isinstance(criterion, DistinctLDiversity):
            value = measure_distinct_l(released, qis, criterion.column)
            l_distinct[criterion.column] = value
            if value < criterion.l:
                failures.append(
                    f"distinct l of {criterion.column} measured {value} < {criterion.l}"
                )
        elif isinstance(criterion, EntropyLDiversity):
            entropy_l = measure_entropy_l(released, qis, criterion.column)
            l_entropy[criterion.column] = entropy_l
            if entropy_l < criterion.l * (1 - 1e-9):
                failures.append(
                    f"entropy l of {criterion.column} measured {entropy_l:.4f} < {criterion.l:g}"
                )
        elif isinstance(criterion, RecursiveCLDiversity):
            if not holds_recursive_cl(released, qis, criterion.column, criterion.c, criterion.l):
                failures.append(f"{criterion.describe()} does not hold")
        elif isinstance(criterion, TCloseness):
            source = None if reference is None else reference[criterion.column]
            t_value = measure_t(released, qis, criterion.column, source, criterion.hierarchy)
            t_values[criterion.column] = t_value
            if t_value > criterion.t + 1e-9:
                failures.append(f"t of {criterion.column} measured {t_value:.4f} > {criterion.t:g}")
    if released.empty:
        failures.append("the release is empty")
    result = Verification(
        rows=len(released),
        equivalence_classes=classes,
        k=k,
        l_distinct=l_distinct,
        l_entropy={name: round(value, 6) for name, value in l_entropy.items()},
        t={name: round(value, 6) for name, value in t_values.items()},
        failures=tuple(failures),
        class_sizes=sizes,
    )
    if failures:
        raise VerificationFailed(failures)
    return result
