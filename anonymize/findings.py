"""The detector's findings against the seller's labels, and the scan of a release before storage.

The seller labels every column; where it matters, the detector's findings override the labels:
- a column found to hold names, identification codes (個人識別符号), phone numbers, e-mail
  addresses or linking IDs is removed (standards 1-3), whatever its label;
- a column found to hold addresses or dates is released only generalized to its floor
  (standard 1), or removed;
- any other finding (age, gender, a sensitive item, free text...) the seller may release less
  protected than proposed only with a reason, recorded with the override.
A release is scanned again before it is stored: identifiers found in it block it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from anonymize.definition import (
    IDENTIFIERS,
    MUST_DELETE,
    MUST_GENERALIZE,
    ColumnKind,
    ColumnSpec,
    Definition,
    InfoCategory,
    effective_floor,
)
from anonymize.detect import ColumnProposal, detect_definition
from anonymize.errors import OverrideWithoutReason, ReleaseBlocked
from anonymize.linkable import linkable_identifiers

REMOVED = frozenset({ColumnKind.IDENTIFYING, ColumnKind.LINKING})
#: How much each kind protects a column: removed > generalized > protected by the model > as is.
PROTECTION = {
    ColumnKind.IDENTIFYING: 3,
    ColumnKind.LINKING: 3,
    ColumnKind.QUASI_IDENTIFYING: 2,
    ColumnKind.SENSITIVE: 1,
    ColumnKind.INSENSITIVE: 0,
}


class OverriddenBy(StrEnum):
    """Whose decision an override records."""

    DETECTOR = "detector"  # the finding replaced the seller's label
    SELLER = "seller"  # the seller's label stands against the finding, with a reason


@dataclass(frozen=True)
class Override:
    """One column where the seller's label and the detector's finding disagreed, and who won."""

    column: str
    labelled: ColumnKind
    applied: ColumnKind
    category: InfoCategory
    finding: str
    by: OverriddenBy
    reason: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        """Plain dict for job records and reports."""
        return {
            "column": self.column,
            "labelled": self.labelled.value,
            "applied": self.applied.value,
            "category": self.category.value,
            "finding": self.finding,
            "by": self.by.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Resolution:
    """The definition to process with, and every override that shaped it."""

    definition: Definition
    overrides: tuple[Override, ...]


def resolve_definition(
    data: pd.DataFrame, labels: Definition, reasons: Mapping[str, str] | None = None
) -> Resolution:
    """Apply the detector's findings to the seller's labels; raise if an override lacks a reason."""
    labels.check_against(list(data.columns))
    given = dict(reasons or {})
    resolved: dict[str, ColumnSpec] = {}
    overrides: list[Override] = []
    unexplained: list[tuple[str, str, str]] = []
    for found in detect_definition(data).columns:
        label = labels.columns[found.column]
        if not found.found:
            resolved[found.column] = label
            continue
        spec, enforced = _enforce(found, label)
        resolved[found.column] = spec
        if enforced:
            overrides.append(_override(found, label, spec, OverriddenBy.DETECTOR, None))
        elif PROTECTION[label.kind] < PROTECTION[found.spec.kind]:
            reason = given.get(found.column, "").strip()
            if not reason:
                unexplained.append((found.column, label.kind.value, found.reason))
                continue
            overrides.append(_override(found, label, spec, OverriddenBy.SELLER, reason))
    if unexplained:
        raise OverrideWithoutReason(unexplained)
    ordered = {name: resolved[name] for name in labels.columns}
    return Resolution(Definition(ordered), tuple(overrides))


def _override(
    found: ColumnProposal, label: ColumnSpec, spec: ColumnSpec, by: OverriddenBy, reason: str | None
) -> Override:
    return Override(found.column, label.kind, spec.kind, spec.category, found.reason, by, reason)


def _enforce(found: ColumnProposal, label: ColumnSpec) -> tuple[ColumnSpec, bool]:
    """The spec a finding leaves a label, and whether the finding replaced part of the label."""
    detected = found.spec
    # A label without a category takes the detector's, so floors and the report follow the data.
    category = detected.category if label.category == InfoCategory.OTHER else label.category
    if detected.category in IDENTIFIERS:
        kind = ColumnKind.IDENTIFYING if detected.category in MUST_DELETE else ColumnKind.LINKING
        if label.kind == ColumnKind.IDENTIFYING or (label.kind == kind):
            return ColumnSpec(label.kind, detected.category), False
        return ColumnSpec(kind, detected.category), True
    if detected.category in MUST_GENERALIZE:
        if label.kind in REMOVED:
            return ColumnSpec(label.kind, category), False
        floored = ColumnSpec(ColumnKind.QUASI_IDENTIFYING, detected.category, label.min_level)
        if label.kind != ColumnKind.QUASI_IDENTIFYING:
            return floored, True
        kept = ColumnSpec(label.kind, category, label.min_level)
        if effective_floor(kept) < effective_floor(floored):
            return floored, True
        return kept, False
    return ColumnSpec(label.kind, category, label.min_level), False


def scan_release(output: pd.DataFrame) -> None:
    """Raise ReleaseBlocked naming each column of a release in which the detector finds
    identifiers (names, identification codes, phone numbers, e-mail addresses, linking IDs,
    cookie, device and advertising IDs)."""
    found = [
        (proposal.column, proposal.reason)
        for proposal in detect_definition(output).columns
        if proposal.found and proposal.spec.category in IDENTIFIERS
    ]
    # Cookie, device and advertising IDs (個人関連情報) link a release to people as IDs do.
    named = {column for column, _ in found}
    found += [(f.column, f.reason) for f in linkable_identifiers(output) if f.column not in named]
    if found:
        raise ReleaseBlocked(found)
