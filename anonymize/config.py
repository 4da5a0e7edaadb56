"""Anonymization config: privacy models, suppression limit, quality model, algorithm."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from anonymize.criteria import (
    Criterion,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymize.definition import ColumnKind, Definition
from anonymize.errors import ContradictoryConfig, UnknownColumn


class Algorithm(StrEnum):
    """Which search produces the release."""

    OPTIMAL = "optimal"
    MONDRIAN = "mondrian"
    AUTO = "auto"


class QualityModel(StrEnum):
    """Information-loss metric the optimal search minimizes."""

    DM = "dm"
    AECS = "aecs"
    ENTROPY = "entropy"
    NCP = "ncp"


class LinkingTreatment(StrEnum):
    """APPI standard 3: delete linking codes or replace them with unlinkable ones."""

    DELETE = "delete"
    REPLACE = "replace"


@dataclass(frozen=True)
class Config:
    """What the release must satisfy and how to search for it (ARX's ARXConfiguration)."""

    criteria: tuple[Criterion, ...]
    suppression_limit: float = 0.0
    quality: QualityModel = QualityModel.DM
    algorithm: Algorithm = Algorithm.OPTIMAL
    relaxed_mondrian: bool = False
    linking: LinkingTreatment = LinkingTreatment.DELETE
    rare_threshold: int = 0
    top_coding: Mapping[str, float] = field(default_factory=dict)
    bottom_coding: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_parameters(self)

    @property
    def k(self) -> int:
        """The k of the k-anonymity criterion (1 when there is none)."""
        return max((c.k for c in self.criteria if isinstance(c, KAnonymity)), default=1)

    @property
    def minimal_class_size(self) -> int:
        """The smallest class any criterion accepts."""
        return max(c.minimal_class_size for c in self.criteria)

    def check_against(self, definition: Definition) -> None:
        """Raise ContradictoryConfig if criteria and definition disagree."""
        sensitive = set(definition.sensitive)
        known = set(definition.columns)
        for criterion in self.criteria:
            column = criterion.column
            if column is None:
                continue
            if column not in known:
                raise UnknownColumn([column], sorted(known))
            if column not in sensitive:
                raise ContradictoryConfig(
                    f"{criterion.describe()} protects column {column!r}, which is not "
                    "defined as sensitive"
                )
        if not definition.quasi_identifiers:
            raise ContradictoryConfig("a privacy model needs at least one quasi-identifier")
        for name in (*self.top_coding, *self.bottom_coding):
            if name not in known:
                raise UnknownColumn([name], sorted(known))
            if definition.columns[name].kind == ColumnKind.IDENTIFYING:
                raise ContradictoryConfig(f"column {name!r} is deleted; it cannot be top-coded")


def _check_parameters(config: Config) -> None:
    """Reject values no release can satisfy and combinations that contradict each other."""
    if not config.criteria:
        raise ContradictoryConfig("no privacy model: add k-anonymity at least")
    if not 0.0 <= config.suppression_limit < 1.0:
        raise ContradictoryConfig("the suppression limit is a share of rows in [0, 1)")
    seen: set[tuple[type, str | None]] = set()
    for criterion in config.criteria:
        key = (type(criterion), criterion.column)
        if key in seen:
            raise ContradictoryConfig(f"{type(criterion).__name__} is given twice")
        seen.add(key)
        _check_criterion(criterion)
    if not any(isinstance(c, KAnonymity) for c in config.criteria):
        raise ContradictoryConfig(
            "APPI standard 5 is met here with k-anonymity; add it (k >= 2) next to other models"
        )
    distinct = [c.l for c in config.criteria if isinstance(c, DistinctLDiversity)]
    if any(value > config.k for value in distinct) and config.algorithm == Algorithm.MONDRIAN:
        raise ContradictoryConfig("distinct l-diversity with l above k cannot stop Mondrian")
    if config.algorithm == Algorithm.MONDRIAN and config.suppression_limit > 0:
        raise ContradictoryConfig(
            "Mondrian recodes locally and never suppresses; set the suppression limit to 0"
        )


def _check_criterion(criterion: Criterion) -> None:
    if isinstance(criterion, KAnonymity) and criterion.k < 2:
        raise ContradictoryConfig("k must be at least 2")
    if isinstance(criterion, DistinctLDiversity | RecursiveCLDiversity) and criterion.l < 2:
        raise ContradictoryConfig("l must be at least 2")
    if isinstance(criterion, EntropyLDiversity) and criterion.l <= 1:
        raise ContradictoryConfig("entropy l must be above 1")
    if isinstance(criterion, RecursiveCLDiversity) and criterion.c <= 0:
        raise ContradictoryConfig("c must be positive")
    if isinstance(criterion, TCloseness) and not 0.0 < criterion.t < 1.0:
        raise ContradictoryConfig("t must lie strictly between 0 and 1")
