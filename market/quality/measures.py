"""The components of the score, after ISO/IEC 25012's inherent characteristics (docs/quality.md).

Each takes the column profiles (or the figures it needs) and returns a Measure: a 0-100 score, or
none with the reason it was not measured. Explanations hold counts, column names and the seller's
own declarations, never a cell's value.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from market.quality.declaration import (
    PATTERN_MAX_VALUE_CHARS,
    TIME_TYPES,
    ColumnSchema,
    DatasetSchema,
    DeclarationMismatch,
)
from market.quality.profile import (
    BoolArray,
    ColumnProfile,
    IntArray,
    Reading,
    coerce_constant,
    full_matches,
    instant_bound,
)
from market.quality.report import Measure
from market.quality.rules import RuleTypeError, Values, evaluate, parse_rule


@dataclass(frozen=True)
class AnonymizationFigures:
    """The privacy and utility figures of an anonymized release, from its public report."""

    k: int
    l: int | None  # noqa: E741  (l-diversity's own name)
    ncp: float

    @classmethod
    def from_public_report(cls, report: Mapping[str, Any]) -> "AnonymizationFigures":
        """Read k, the smallest distinct l and NCP from `anonymize`'s public report."""
        privacy, utility = report["privacy"], report["utility"]
        l_values = [int(v) for v in (privacy.get("l_distinct") or {}).values()]
        return cls(
            k=int(privacy["k"]), l=min(l_values) if l_values else None, ncp=float(utility["ncp"])
        )


@dataclass(frozen=True)
class Credibility:
    """The seller's record as a 0-100 figure, and what it rests on."""

    score: float
    basis: str


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "0%"


def completeness(profiles: Mapping[str, ColumnProfile], rows: int) -> Measure:
    formula = "100 × (1 − missing cells / cells)"
    cells = rows * len(profiles)
    if cells == 0:
        return Measure("completeness", None, formula, "the table has no cells")
    by_column = {name: p.missing for name, p in profiles.items() if p.missing}
    missing = sum(by_column.values())
    return Measure(
        "completeness",
        100 * (1 - missing / cells),
        formula,
        f"{missing:,} of {cells:,} cells are missing ({_percent(missing, cells)}); "
        "empty, whitespace-only and null cells count as missing",
        {"cells": cells, "missing": missing, "missing_by_column": by_column},
    )


def _breaches(profile: ColumnProfile, column: ColumnSchema) -> dict[str, BoolArray]:
    """Which distinct values break each part of a column's declaration."""
    reading = profile.reading(column.type)
    found: dict[str, BoolArray] = {"type": ~reading.readable}
    if column.minimum is not None or column.maximum is not None:
        timed = column.type in TIME_TYPES
        values = reading.values.astype(np.int64 if timed else np.float64)
        outside = np.zeros(len(values), dtype=bool)
        for bound, beyond in ((column.minimum, np.less), (column.maximum, np.greater)):
            if bound is not None:
                limit = instant_bound(bound) if timed else float(bound)
                outside |= beyond(values, limit)
        found["range"] = reading.readable & outside
    if column.codes is not None:
        found["codes"] = ~profile.text.isin(set(column.codes)).to_numpy()
    if column.pattern is not None:
        pattern = re.compile(column.pattern)
        found["pattern"] = ~full_matches(profile.text, pattern, PATTERN_MAX_VALUE_CHARS)
    return found


def validity(profiles: Mapping[str, ColumnProfile], schema: DatasetSchema) -> Measure:
    formula = "100 × (1 − cells breaking their declaration / present cells of declared columns)"
    declared = [c for c in schema.columns if c.constrained]
    if not declared:
        return Measure(
            "validity",
            None,
            formula,
            "not measured: no column declares a type other than string, a range, a code list "
            "or a pattern",
        )
    checked = invalid = 0
    by_column: dict[str, dict[str, int]] = {}
    for column in declared:
        profile = profiles[column.name]
        breaches = _breaches(profile, column)
        bad = np.logical_or.reduce(list(breaches.values()))
        entry = {"checked": int(profile.counts.sum()), "invalid": int(profile.counts[bad].sum())}
        entry |= {part: int(profile.counts[mask].sum()) for part, mask in breaches.items()}
        by_column[column.name] = entry
        checked += entry["checked"]
        invalid += entry["invalid"]
    if checked == 0:
        return Measure(
            "validity", None, formula, "not measured: the declared columns hold no values"
        )
    return Measure(
        "validity",
        100 * (1 - invalid / checked),
        formula,
        f"{invalid:,} of {checked:,} present cells in {len(declared)} declared column(s) break "
        f"their declared type, range, code list or pattern ({_percent(invalid, checked)})",
        {"checked": checked, "invalid": invalid, "by_column": by_column},
    )


_MIX = np.uint64(0x9E3779B97F4A7C15)


def distinct_records(columns: Sequence[IntArray]) -> int:
    """How many distinct records the columns' codes form (exact).

    One 64-bit hash per record, grouped once; every record grouped with an earlier one is then
    compared code by code with it, so a hash collision is found and the exact (slower) grouping
    column by column answers instead.
    """
    mixed = np.zeros(len(columns[0]), dtype=np.uint64)
    for codes in columns:
        mixed = mixed * _MIX + (codes + 1).astype(np.uint64)
    ids, uniques = pd.factorize(mixed)
    ids = ids.astype(np.int64, copy=False)
    # factorize numbers groups in order of appearance, so a group's first record is where its
    # id first exceeds every earlier id.
    seen = np.maximum.accumulate(np.concatenate(([-1], ids[:-1])))
    first = ids > seen
    repeats = np.flatnonzero(~first)
    earlier = np.flatnonzero(first)[ids[repeats]]
    if all(np.array_equal(codes[repeats], codes[earlier]) for codes in columns):
        return len(uniques)
    return _distinct_exactly(columns)


def _distinct_exactly(columns: Sequence[IntArray]) -> int:
    key = np.zeros(len(columns[0]), dtype=np.int64)
    distinct = 1
    for codes in columns:
        # Codes shifted by one so a missing value (-1) is a value of its own; the product
        # stays below records × (distinct values + 1), far inside 64 bits.
        combined = key * (int(codes.max(initial=-1)) + 2) + (codes + 1)
        ids, uniques = pd.factorize(combined)
        key, distinct = ids.astype(np.int64, copy=False), len(uniques)
    return distinct


def uniqueness(
    profiles: Mapping[str, ColumnProfile], rows: int, schema: DatasetSchema, *, anonymized: bool
) -> Measure:
    formula = "100 × distinct records / records"
    if anonymized:
        return Measure(
            "uniqueness",
            None,
            formula,
            "not measured: generalization makes records of anonymized data coincide by design",
        )
    if rows == 0 or not profiles:
        return Measure("uniqueness", None, formula, "not measured: the table has no records")
    names = schema.key_columns or list(profiles)
    distinct = distinct_records([profiles[name].codes for name in names])
    duplicates = rows - distinct
    compared = "key " + ", ".join(names) if schema.key_columns else "whole records compared"
    return Measure(
        "uniqueness",
        100 * distinct / rows,
        formula,
        f"{duplicates:,} of {rows:,} records repeat an earlier one ({compared})",
        {"records": rows, "duplicates": duplicates, "key_columns": list(schema.key_columns)},
    )


def _reading(profile: ColumnProfile, declared: ColumnSchema | None) -> Reading:
    return profile.reading(declared.type) if declared is not None else profile.inferred()


def consistency(profiles: Mapping[str, ColumnProfile], rows: int, schema: DatasetSchema) -> Measure:
    formula = "100 × (1 − rule violations / rule checks); a check is one rule on one record"
    if not schema.rules:
        return Measure("consistency", None, formula, "not measured: no rules are declared")
    cache: dict[str, Values] = {}

    def column(name: str) -> Values:
        if name not in cache:
            profile = profiles[name]
            cache[name] = profile.values(_reading(profile, schema.column(name)))
        return cache[name]

    results: list[dict[str, Any]] = []
    for i, text in enumerate(schema.rules):
        try:
            outcome = evaluate(parse_rule(text), column, coerce_constant, rows)
        except RuleTypeError as exc:
            raise DeclarationMismatch(f"rules.{i}", str(exc)) from None
        checked = int(outcome.checked.sum())
        results.append(
            {"rule": text, "checked": checked, "violations": checked - int(outcome.holds.sum())}
        )
    checks = int(sum(r["checked"] for r in results))
    violations = int(sum(r["violations"] for r in results))
    if checks == 0:
        return Measure(
            "consistency",
            None,
            formula,
            "not measured: no record has readable values in the columns the rules compare",
            {"rules": results},
        )
    return Measure(
        "consistency",
        100 * (1 - violations / checks),
        formula,
        f"{violations:,} of {checks:,} rule checks fail ({len(results)} rule(s))",
        {"checks": checks, "violations": violations, "rules": results},
    )


def currentness(
    profiles: Mapping[str, ColumnProfile], schema: DatasetSchema, now: datetime
) -> Measure:
    formula = "100 if age ≤ update frequency, else 100 × update frequency / age"
    name, frequency = schema.timestamp_column, schema.update_frequency_days
    if name is None or frequency is None:
        return Measure(
            "currentness",
            None,
            formula,
            "not measured: declare timestamp_column and update_frequency_days",
        )
    declared = schema.column(name)
    profile = profiles[name]
    reading = profile.reading(declared.type if declared is not None else "datetime")
    dated = reading.readable & (profile.counts > 0)
    if not dated.any():
        return Measure(
            "currentness",
            0.0,
            formula,
            f"no record has a readable timestamp in {name}",
            {"update_frequency_days": frequency},
        )
    newest = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
        microseconds=int(reading.values[dated].max()) // 1000
    )
    age = max(0.0, (now - newest).total_seconds() / 86_400)
    score = 100.0 if age <= frequency else 100 * frequency / age
    return Measure(
        "currentness",
        score,
        formula,
        f"the newest record ({name}) is {age:,.1f} days old; updates are declared every "
        f"{frequency:g} days",
        {
            "newest": newest.isoformat(),
            "age_days": round(age, 3),
            "update_frequency_days": frequency,
        },
    )


def privacy(figures: AnonymizationFigures | None) -> Measure:
    formula = "100 × min(1 − 1/k, 1 − 1/l); l only where l-diversity was required"
    if figures is None:
        return Measure(
            "privacy", None, formula, "not measured: applies to anonymized data (匿名加工情報)"
        )
    identity = 1 - 1 / figures.k
    parts = [identity] + ([1 - 1 / figures.l] if figures.l else [])
    told = f"k = {figures.k}: a record is one of at least {figures.k} alike"
    if figures.l:
        told += f"; l = {figures.l}: each group holds at least {figures.l} sensitive values"
    return Measure("privacy", 100 * min(parts), formula, told, {"k": figures.k, "l": figures.l})


def utility(figures: AnonymizationFigures | None) -> Measure:
    formula = "100 × (1 − NCP), NCP the normalized certainty penalty of the release"
    if figures is None:
        return Measure(
            "utility", None, formula, "not measured: applies to anonymized data (匿名加工情報)"
        )
    ncp = min(1.0, max(0.0, figures.ncp))
    return Measure(
        "utility",
        100 * (1 - ncp),
        formula,
        f"generalization cost {100 * ncp:.1f}% of the detail of the quasi-identifiers (NCP {ncp:.4f})",
        {"ncp": ncp},
    )


def credibility(record: Credibility | None) -> Measure:
    formula = "the seller's record, 0-100 (deliveries and ratings from paying buyers)"
    if record is None:
        return Measure(
            "credibility",
            None,
            formula,
            "not measured: the seller has no rated deliveries yet",
        )
    return Measure("credibility", min(100.0, max(0.0, record.score)), formula, record.basis)
