"""APPI Enforcement Rules art. 34, standards 1-4, applied as explicit, reported steps.

Standard 5 (measures for the database as a whole) is the privacy model, applied afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anonymize.builders import bottom_code, top_code
from anonymize.config import Config, LinkingTreatment
from anonymize.definition import (
    IDENTIFICATION_CODES,
    MUST_DELETE,
    ColumnKind,
    Definition,
    effective_floor,
)
from anonymize.detect import scan_values
from anonymize.errors import IdentifierInReleasedColumn
from anonymize.hierarchy import Hierarchy

TokenSource = Callable[[int], list[str]]
RARE_LABEL = "その他 (other)"


@dataclass(frozen=True)
class AppliedStep:
    """One APPI standard as applied: what was done to which columns."""

    standard: int
    title_ja: str
    title_en: str
    columns: tuple[str, ...]
    action: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict for reports."""
        return {
            "standard": self.standard,
            "title_ja": self.title_ja,
            "title_en": self.title_en,
            "columns": list(self.columns),
            "action": self.action,
        }


TITLES = {
    1: ("特定の個人を識別することができる記述等の削除", "delete identifying descriptions"),
    2: ("個人識別符号の削除", "delete individual identification codes"),
    3: (
        "個人情報と加工して得られる情報とを連結する符号の削除",
        "delete codes linking the personal information to the processed information",
    ),
    4: ("特異な記述等の削除", "delete unique or rare descriptions"),
    5: (
        "個人情報データベース等の性質を踏まえたその他の措置",
        "measures for the database as a whole",
    ),
}


def step(standard: int, columns: list[str], action: str) -> AppliedStep:
    """An AppliedStep with the standard's official titles."""
    title_ja, title_en = TITLES[standard]
    return AppliedStep(standard, title_ja, title_en, tuple(columns), action)


def random_tokens(count: int) -> list[str]:
    """Unlinkable replacement codes: 128 random bits each, no mapping is kept."""
    return [secrets.token_hex(16) for _ in range(count)]


@dataclass(frozen=True)
class Prepared:
    """The table after standards 1-4, the hierarchies it now needs, and the steps taken."""

    data: pd.DataFrame
    hierarchies: Mapping[str, Hierarchy]
    steps: tuple[AppliedStep, ...]


def apply_standards_1_to_4(
    data: pd.DataFrame,
    definition: Definition,
    hierarchies: Mapping[str, Hierarchy],
    config: Config,
    token_source: TokenSource = random_tokens,
) -> Prepared:
    """Delete identifiers and ID codes, cut linking codes, recode rare values."""
    spec = definition.columns
    table = data.copy()
    out_hierarchies = dict(hierarchies)
    steps: list[AppliedStep] = []

    _refuse_hidden_identifiers(data, definition)
    identifying = definition.names(ColumnKind.IDENTIFYING)
    codes = [n for n in identifying if spec[n].category in IDENTIFICATION_CODES]
    described = [n for n in identifying if n not in codes]
    floored = [n for n in definition.quasi_identifiers if effective_floor(spec[n]) > 0]
    action = "deleted" if described else "no identifying descriptions"
    if floored:
        action += "; generalized at least to level " + ", ".join(
            f"{n}>={effective_floor(spec[n])}" for n in floored
        )
    steps.append(step(1, described + floored, action))
    steps.append(step(2, codes, "deleted" if codes else "no identification codes"))
    table = table.drop(columns=identifying)

    linking = definition.names(ColumnKind.LINKING)
    if linking and config.linking == LinkingTreatment.REPLACE:
        for name in linking:
            uniques = pd.unique(table[name].astype(str))
            mapping = dict(zip(uniques, token_source(len(uniques)), strict=True))
            table[name] = table[name].astype(str).map(mapping)
        steps.append(step(3, linking, "replaced with random codes; no mapping is kept"))
    else:
        table = table.drop(columns=linking)
        steps.append(step(3, linking, "deleted" if linking else "no linking codes"))

    steps.append(_standard_4(table, definition, out_hierarchies, config))
    return Prepared(table, out_hierarchies, tuple(steps))


def _refuse_hidden_identifiers(data: pd.DataFrame, definition: Definition) -> None:
    """Standards 1-2 fail silently if an identifier hides in a released column: refuse that."""
    released = (ColumnKind.QUASI_IDENTIFYING, ColumnKind.SENSITIVE, ColumnKind.INSENSITIVE)
    for name, spec in definition.columns.items():
        if spec.kind not in released:
            continue
        series = data[name].dropna()
        # An evenly spaced sample: deterministic and cheap on very long columns.
        spaced = np.linspace(0, len(series) - 1, min(len(series), 500)).astype(np.int64)
        found = scan_values(series.iloc[spaced].astype(str).tolist())
        if found is not None and found[0] in MUST_DELETE:
            raise IdentifierInReleasedColumn(name, found[2])


def _standard_4(
    table: pd.DataFrame,
    definition: Definition,
    hierarchies: dict[str, Hierarchy],
    config: Config,
) -> AppliedStep:
    """Top/bottom coding and rare-category recoding; rare QI combinations go to standard 5."""
    touched: list[str] = []
    actions: list[str] = []
    for name, threshold in config.top_coding.items():
        touched.append(name)
        actions.append(f"{name} top-coded at {threshold:g}")
        if name in hierarchies:
            hierarchies[name] = top_code(hierarchies[name], threshold, f"{threshold:g}以上")
        else:
            values = pd.to_numeric(table[name], errors="coerce")
            table[name] = table[name].astype(str).where(values < threshold, f"{threshold:g}以上")
    for name, threshold in config.bottom_coding.items():
        touched.append(name)
        actions.append(f"{name} bottom-coded at {threshold:g}")
        if name in hierarchies:
            hierarchies[name] = bottom_code(hierarchies[name], threshold, f"{threshold:g}以下")
        else:
            values = pd.to_numeric(table[name], errors="coerce")
            table[name] = table[name].astype(str).where(values > threshold, f"{threshold:g}以下")
    if config.rare_threshold > 0:
        kinds = (ColumnKind.SENSITIVE, ColumnKind.INSENSITIVE)
        for name in [n for n in table.columns if definition.columns[n].kind in kinds]:
            if name in config.top_coding or name in config.bottom_coding:
                continue
            counts = table[name].astype(str).map(table[name].astype(str).value_counts())
            rare = counts < config.rare_threshold
            if rare.any():
                table[name] = table[name].astype(str).where(~rare, RARE_LABEL)
                touched.append(name)
                actions.append(f"{name}: {int(rare.sum())} rare value(s) recoded")
    actions.append("rare quasi-identifier combinations are generalized or suppressed (standard 5)")
    return step(4, touched, "; ".join(actions))
