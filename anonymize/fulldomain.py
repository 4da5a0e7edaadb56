"""Optimal full-domain generalization of encoded data: search, then recode every record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from anonymize.classes import Records, Roller
from anonymize.config import Config, QualityModel
from anonymize.emd import SensitiveReference
from anonymize.encoding import EncodedColumn, IntArray
from anonymize.errors import KAnonymityNotReached
from anonymize.flash import Checker, Progress, TableCache, optimal_search
from anonymize.lattice import Lattice
from anonymize.quality import (
    AverageClassSize,
    CertaintyPenalty,
    Discernibility,
    LossModel,
    NonUniformEntropy,
    ncp_penalties,
)
from anonymize.recoding import Recoding


def loss_model(quality: QualityModel, columns: Sequence[EncodedColumn], rows: int) -> LossModel:
    """The loss model named by the config."""
    if quality == QualityModel.DM:
        return Discernibility(rows)
    if quality == QualityModel.AECS:
        return AverageClassSize(rows)
    if quality == QualityModel.ENTROPY:
        return NonUniformEntropy(columns)
    return CertaintyPenalty(columns)


def full_domain(
    columns: Sequence[EncodedColumn],
    records: Records,
    references: Mapping[str, SensitiveReference],
    config: Config,
    floors: Sequence[int],
    progress: Progress | None = None,
) -> Recoding:
    """Find the optimal transformation and recode every record with it."""
    rows = records.size
    roller = Roller(columns)
    checker = Checker(config.criteria, references, int(np.floor(config.suppression_limit * rows)))
    lattice = Lattice(floors, [column.height - 1 for column in columns])
    cache = TableCache(roller, records, budget=max(4_000_000, 8 * rows), floors=floors)
    domains = [[column.domain(level) for level in range(column.height)] for column in columns]
    outcome = optimal_search(
        lattice, cache, checker, loss_model(config.quality, columns, rows), progress, domains
    )
    if outcome is None:
        raise KAnonymityNotReached(
            f"no generalization satisfies {', '.join(c.describe() for c in config.criteria)} "
            f"with at most {checker.max_outliers} suppressed row(s) of {rows}; raise the "
            "suppression limit, lower k, or give coarser hierarchies"
        )
    if outcome.failing.any():
        table, row_class = roller.roll_up_with_groups(records, outcome.levels)
        kept = ~checker.failing(table)[row_class]
    else:
        kept = np.ones(rows, dtype=np.bool_)
    labels = {}
    label_codes: list[IntArray] = []
    released_ncp = 0.0
    for column, level in zip(columns, outcome.levels, strict=True):
        # Narrow codes: pandas keeps them as they are, and the lookup table stays tiny.
        narrow: type[np.signedinteger[Any]] = np.int16 if column.domain(level) < 2**15 else np.int32
        lookup: IntArray = column.level_maps[level].astype(narrow)
        codes: IntArray = lookup[column.codes]
        label_codes.append(codes)
        categories = pd.Index(column.level_labels[level])
        labels[column.name] = pd.Categorical.from_codes(codes, categories, validate=False)
        released = codes if kept.all() else codes[kept]
        per_label = np.bincount(released, minlength=column.domain(level))
        released_ncp += float((ncp_penalties(column)[level] * per_label).sum())
    return Recoding(
        algorithm="optimal",
        labels=labels,
        label_codes=label_codes,
        kept=kept,
        released_ncp=released_ncp,
        transformation={c.name: level for c, level in zip(columns, outcome.levels, strict=True)},
        details={
            "lattice_size": outcome.lattice_size,
            "nodes_checked": outcome.nodes_checked,
            "search_loss": outcome.loss,
        },
    )
