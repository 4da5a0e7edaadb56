"""The typed result of scoring: each component with its score, weight and explanation."""

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Status = Literal["measured", "not_measured"]
METHOD = "datamarket-quality/1"

# The documented weights (docs/quality.md); they sum to 100. A component that is not measured
# gives its weight to the measured ones in proportion to theirs.
WEIGHTS: dict[str, int] = {
    "completeness": 20,
    "validity": 20,
    "uniqueness": 10,
    "consistency": 10,
    "currentness": 10,
    "privacy": 10,
    "utility": 10,
    "credibility": 10,
}


@dataclass(frozen=True)
class Measure:
    """What one component found, before weighting: a score 0-100 or none, and why."""

    name: str
    score: float | None
    formula: str
    explanation: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Component:
    """One weighted component of the score."""

    name: str
    status: Status
    score: float | None
    weight: int
    effective_weight: float
    formula: str
    explanation: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "score": self.score,
            "weight": self.weight,
            "effective_weight": self.effective_weight,
            "formula": self.formula,
            "explanation": self.explanation,
            "details": self.details,
        }


@dataclass(frozen=True)
class QualityReport:
    """A dataset's quality: the 0-100 score the engine uses and every component behind it."""

    score: int
    exact: float
    rows: int
    columns: int
    measured_at: datetime
    components: tuple[Component, ...]
    method: str = METHOD

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, JSON-ready (stored on the dataset)."""
        return {
            "score": self.score,
            "exact": self.exact,
            "method": self.method,
            "rows": self.rows,
            "columns": self.columns,
            "measured_at": self.measured_at.isoformat(),
            "components": [c.to_dict() for c in self.components],
        }


def half_up(value: float) -> int:
    """Round halves up (Python's round() sends 82.5 to 82)."""
    return math.floor(value + 0.5)


def weigh(
    measures: list[Measure],
    *,
    rows: int,
    columns: int,
    measured_at: datetime,
    weights: dict[str, int] = WEIGHTS,
) -> QualityReport:
    """Combine measures into the weighted score; unmeasured weight goes to the measured components.

    A table with no cells scores 0 whatever else is known of it.
    """
    measured = [m for m in measures if m.score is not None]
    total = sum(weights[m.name] for m in measured)
    has_cells = rows > 0 and columns > 0
    exact = (
        sum(weights[m.name] * float(m.score) for m in measured if m.score is not None) / total
        if total and has_cells
        else 0.0
    )
    components = tuple(
        Component(
            name=m.name,
            status="measured" if m.score is not None else "not_measured",
            score=None if m.score is None else round(m.score, 2),
            weight=weights[m.name],
            effective_weight=(
                round(100 * weights[m.name] / total, 2) if m.score is not None and total else 0.0
            ),
            formula=m.formula,
            explanation=m.explanation,
            details=m.details,
        )
        for m in measures
    )
    return QualityReport(
        score=half_up(round(exact, 6)),
        exact=round(exact, 4),
        rows=rows,
        columns=columns,
        measured_at=measured_at,
        components=components,
    )
