"""The anonymization pipeline: data + definition + hierarchies + config in, a verified release out.

Shaped like ARX's API. Standards 1-4 of APPI Enforcement Rules art. 34 are applied as
reported steps, standard 5 by the privacy model; every release is re-verified from its
output alone before it is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from anonymize.builders import date_hierarchy, interval_hierarchy
from anonymize.classes import Records
from anonymize.config import Algorithm, Config, QualityModel
from anonymize.criteria import TCloseness
from anonymize.definition import Definition, InfoCategory, effective_floor
from anonymize.emd import SensitiveReference
from anonymize.encoding import EncodedColumn, IntArray, encode
from anonymize.errors import (
    HierarchyMissingValue,
    InvalidHierarchy,
    KAnonymityNotReached,
    UnknownColumn,
    VerificationFailed,
)
from anonymize.fulldomain import full_domain
from anonymize.geography import geography_hierarchy
from anonymize.hierarchy import Hierarchy
from anonymize.mondrian import mondrian
from anonymize.recoding import Recoding, Utility, utility
from anonymize.report import (
    DEFAULT_PROVISION,
    ProcessingMethodRecord,
    ProcessingReport,
)
from anonymize.reporting import build_method_record, build_report, standard_5_step
from anonymize.risk import Risk, prosecutor_risk
from anonymize.steps import (
    Prepared,
    TokenSource,
    apply_standards_1_to_4,
    random_tokens,
)
from anonymize.verify import Verification, verify

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AnonymizationResult:
    """A verified release: output table, transformation, utility, risk, reports."""

    output: pd.DataFrame
    algorithm: str
    transformation: dict[str, int] | None
    metrics: Utility
    risk: Risk
    verification: Verification
    report: ProcessingReport
    method_record: ProcessingMethodRecord
    alternatives: dict[str, Utility] = field(default_factory=dict)
    statistics: dict[str, float] = field(default_factory=dict)


def default_hierarchy(series: pd.Series, category: InfoCategory = InfoCategory.OTHER) -> Hierarchy:
    """Geography for addresses, date levels for dates, intervals for numbers, else value -> *."""
    values = pd.Series(series.unique()).astype(str).unique().tolist()
    name = str(series.name)
    if category == InfoCategory.ADDRESS:
        return geography_hierarchy(values, column=name)
    if category in (InfoCategory.BIRTH_DATE, InfoCategory.DATE):
        try:
            return date_hierarchy(values)
        except ValueError:
            raise InvalidHierarchy(
                f"column {name!r} holds dates that are not written YYYY-MM-DD; "
                "give its hierarchy explicitly"
            ) from None
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all() and (numbers % 1 == 0).all():
        span = float(numbers.max() - numbers.min()) or 1.0
        # Start at the smallest "nice" width (1, 2 or 5 times a power of ten) giving ~20 bins.
        scale = 10 ** int(np.floor(np.log10(max(span / 20, 1))))
        width = next(m * scale for m in (1, 2, 5, 10) if m * scale >= span / 20)
        widths = [width]
        while widths[-1] * 2 < span:
            widths.append(widths[-1] * 2)
        return interval_hierarchy(values, widths, origin=0)
    return Hierarchy.flat(values)


def _value_tree(name: str, values: pd.Index, hierarchy: Hierarchy) -> tuple[IntArray, ...]:
    """Per level, the node code of every sensitive value under its hierarchy."""
    rows = {row[0]: row for row in hierarchy.rows}
    missing = [value for value in values if value not in rows]
    if missing:
        raise HierarchyMissingValue(name, len(missing), len(missing))
    return tuple(
        pd.factorize(pd.Index([rows[value][level] for value in values]))[0].astype(np.int64)
        for level in range(hierarchy.height)
    )


def _sensitive(
    data: pd.DataFrame, names: list[str], config: Config
) -> tuple[dict[str, IntArray], dict[str, int], dict[str, SensitiveReference]]:
    """Code each sensitive column; its reference distribution, order and hierarchy if any."""
    trees = {
        c.column: c.hierarchy
        for c in config.criteria
        if isinstance(c, TCloseness) and c.hierarchy is not None
    }
    codes: dict[str, IntArray] = {}
    sizes: dict[str, int] = {}
    references: dict[str, SensitiveReference] = {}
    for name in names:
        text = data[name].astype(str)
        values = pd.Index(sorted(text.unique()))
        numbers = pd.to_numeric(pd.Series(values), errors="coerce")
        ordered = bool(numbers.notna().all())
        if ordered:
            values = values[np.argsort(numbers.to_numpy(), kind="stable")]
        codes[name] = values.get_indexer(text).astype(np.int64)
        sizes[name] = len(values)
        histogram = np.bincount(codes[name], minlength=len(values)).astype(np.int64)
        hierarchy = trees.get(name)
        tree = None if hierarchy is None else _value_tree(name, values, hierarchy)
        references[name] = SensitiveReference(histogram, ordered, tree)
    return codes, sizes, references


def _release(prepared: Prepared, recoding: Recoding) -> pd.DataFrame:
    """The released table: generalized labels in place of the quasi-identifiers, kept rows."""
    columns = {
        name: recoding.labels[name] if name in recoding.labels else prepared.data[name].array
        for name in prepared.data.columns
    }
    table = pd.DataFrame(columns, copy=False)
    if recoding.kept.all():
        return table
    return table.loc[recoding.kept].reset_index(drop=True)


def _score(metrics: Utility, quality: QualityModel) -> float:
    return float(getattr(metrics, quality.value))


@dataclass(frozen=True)
class _Encoded:
    """The table after standards 1-4, integer-coded for the algorithms."""

    prepared: Prepared
    quasi: list[str]
    columns: list[EncodedColumn]
    sensitive_codes: dict[str, IntArray]
    sensitive_sizes: dict[str, int]
    references: dict[str, SensitiveReference]
    floors: list[int]


@dataclass(frozen=True)
class _Outcome:
    """One algorithm's verified release."""

    recoding: Recoding
    output: pd.DataFrame
    verification: Verification
    metrics: Utility
    class_sizes: IntArray


def _prepare(
    data: pd.DataFrame,
    definition: Definition,
    hierarchies: Mapping[str, Hierarchy] | None,
    config: Config,
    token_source: TokenSource,
) -> _Encoded:
    """Check the inputs, apply standards 1-4 and encode the quasi-identifiers."""
    definition.check_against(list(data.columns))
    definition.check_standards()
    config.check_against(definition)
    given = dict(hierarchies or {})
    unknown = [name for name in given if name not in data.columns]
    if unknown:
        raise UnknownColumn(unknown, list(data.columns))
    if config.k > len(data):
        raise KAnonymityNotReached(f"k={config.k} exceeds the {len(data)} rows of the data")
    quasi = definition.quasi_identifiers
    complete = {
        name: given.get(name) or default_hierarchy(data[name], definition.columns[name].category)
        for name in quasi
    }
    prepared = apply_standards_1_to_4(data, definition, complete, config, token_source)
    columns = encode(prepared.data, quasi, prepared.hierarchies)
    codes, sizes, references = _sensitive(prepared.data, definition.sensitive, config)
    floors = [min(effective_floor(definition.columns[c.name]), c.height - 1) for c in columns]
    return _Encoded(prepared, quasi, columns, codes, sizes, references, floors)


def _attempt(
    algorithm: Algorithm, encoded: _Encoded, config: Config, progress: Progress | None
) -> _Outcome:
    """Run one algorithm, release its recoding and verify the release from the output alone."""
    recoding = _run(
        algorithm,
        encoded.columns,
        encoded.sensitive_codes,
        encoded.sensitive_sizes,
        encoded.references,
        config,
        encoded.floors,
        progress,
    )
    output = _release(encoded.prepared, recoding)
    if progress is not None:
        progress("verify", 0.0)
    verification = verify(output, encoded.quasi, config, reference=encoded.prepared.data)
    sizes = verification.class_sizes
    return _Outcome(
        recoding, output, verification, utility(recoding, encoded.columns, sizes), sizes
    )


def anonymize(
    data: pd.DataFrame,
    definition: Definition,
    hierarchies: Mapping[str, Hierarchy] | None,
    config: Config,
    progress: Progress | None = None,
    *,
    provision_method: str = DEFAULT_PROVISION,
    token_source: TokenSource = random_tokens,
) -> AnonymizationResult:
    """Apply APPI standards 1-5 and return a release verified from its output alone."""
    if progress is not None:
        progress("prepare", 0.0)
    encoded = _prepare(data, definition, hierarchies, config, token_source)
    algorithms = (
        [Algorithm.OPTIMAL, Algorithm.MONDRIAN]
        if config.algorithm == Algorithm.AUTO
        else [config.algorithm]
    )
    outcomes: dict[str, _Outcome] = {}
    errors: list[Exception] = []
    for algorithm in algorithms:
        try:
            outcome = _attempt(algorithm, encoded, config, progress)
        except (KAnonymityNotReached, VerificationFailed) as error:
            errors.append(error)
            continue
        outcomes[outcome.recoding.algorithm] = outcome
    if not outcomes:
        raise errors[0]
    chosen = min(outcomes, key=lambda name: _score(outcomes[name].metrics, config.quality))
    best = outcomes[chosen]
    risk = prosecutor_risk(best.class_sizes, config.k)
    steps = (*encoded.prepared.steps, standard_5_step(config, best.verification, best.metrics))
    if progress is not None:
        progress("report", 1.0)
    return AnonymizationResult(
        output=best.output,
        algorithm=chosen,
        transformation=best.recoding.transformation,
        metrics=best.metrics,
        risk=risk,
        verification=best.verification,
        report=build_report(
            definition,
            best.output,
            steps,
            chosen,
            best.verification,
            best.metrics,
            risk,
            provision_method,
        ),
        method_record=build_method_record(
            definition, config, encoded.columns, best.recoding, best.metrics
        ),
        alternatives={name: outcome.metrics for name, outcome in outcomes.items()},
        statistics=dict(best.recoding.details),
    )


def _run(
    algorithm: Algorithm,
    columns: list[EncodedColumn],
    sens_codes: dict[str, IntArray],
    sens_sizes: dict[str, int],
    references: dict[str, SensitiveReference],
    config: Config,
    floors: list[int],
    progress: Progress | None,
) -> Recoding:
    if algorithm == Algorithm.MONDRIAN:
        return mondrian(columns, sens_codes, sens_sizes, references, config, floors, progress)
    records = Records(columns, sens_codes, sens_sizes)
    return full_domain(columns, records, references, config, floors, progress)
