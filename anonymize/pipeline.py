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

from anonymize.builders import interval_hierarchy
from anonymize.classes import base_table
from anonymize.config import Algorithm, Config, QualityModel
from anonymize.criteria import SensitiveReference
from anonymize.definition import ColumnKind, Definition
from anonymize.encoding import EncodedColumn, IntArray, encode
from anonymize.errors import KAnonymityNotReached, UnknownColumn, VerificationFailed
from anonymize.fulldomain import full_domain
from anonymize.hierarchy import Hierarchy
from anonymize.mondrian import mondrian
from anonymize.recoding import Recoding, Utility, utility
from anonymize.report import (
    DEFAULT_PROVISION,
    ColumnCategory,
    ProcessingMethodRecord,
    ProcessingReport,
)
from anonymize.risk import Risk, prosecutor_risk
from anonymize.steps import (
    AppliedStep,
    Prepared,
    TokenSource,
    apply_standards_1_to_4,
    random_tokens,
    step,
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


def default_hierarchy(series: pd.Series) -> Hierarchy:
    """Intervals of doubling width for numbers, value -> * otherwise."""
    values = pd.Series(series.unique()).astype(str).unique().tolist()
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


def _sensitive(
    data: pd.DataFrame, names: list[str]
) -> tuple[dict[str, IntArray], dict[str, int], dict[str, SensitiveReference]]:
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
        references[name] = SensitiveReference(histogram, ordered)
    return codes, sizes, references


def _release(prepared: Prepared, recoding: Recoding) -> pd.DataFrame:
    table = prepared.data.copy()
    for name, labels in recoding.labels.items():
        table[name] = labels
    return table.loc[recoding.kept].reset_index(drop=True)


def _class_sizes(output: pd.DataFrame, quasi: list[str]) -> IntArray:
    if output.empty:
        return np.zeros(0, dtype=np.int64)
    sizes = output.groupby(quasi, dropna=False, sort=False, observed=True).size()
    return np.asarray(sizes, dtype=np.int64)


def _score(metrics: Utility, quality: QualityModel) -> float:
    return float(getattr(metrics, quality.value))


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
    report_progress = progress or (lambda stage, fraction: None)
    definition.check_against(list(data.columns))
    config.check_against(definition)
    given = dict(hierarchies or {})
    unknown = [name for name in given if name not in data.columns]
    if unknown:
        raise UnknownColumn(unknown, list(data.columns))
    if config.k > len(data):
        raise KAnonymityNotReached(f"k={config.k} exceeds the {len(data)} rows of the data")
    report_progress("prepare", 0.0)
    quasi = definition.quasi_identifiers
    complete = {name: given.get(name) or default_hierarchy(data[name]) for name in quasi}
    prepared = apply_standards_1_to_4(data, definition, complete, config, token_source)
    columns = encode(prepared.data, quasi, prepared.hierarchies)
    sens_codes, sens_sizes, references = _sensitive(prepared.data, definition.sensitive)
    floors = [min(definition.columns[c.name].min_level, c.height - 1) for c in columns]
    report_progress("prepare", 1.0)

    algorithms = (
        [Algorithm.OPTIMAL, Algorithm.MONDRIAN]
        if config.algorithm == Algorithm.AUTO
        else [config.algorithm]
    )
    outcomes: dict[str, tuple[Recoding, pd.DataFrame, Verification, Utility, IntArray]] = {}
    errors: list[Exception] = []
    for algorithm in algorithms:
        try:
            recoding = _run(
                algorithm, columns, sens_codes, sens_sizes, references, config, floors, progress
            )
        except KAnonymityNotReached as error:
            errors.append(error)
            continue
        output = _release(prepared, recoding)
        report_progress("verify", 0.0)
        try:
            verification = verify(output, quasi, config, reference=prepared.data)
        except VerificationFailed as error:
            errors.append(error)
            continue
        sizes = _class_sizes(output, quasi)
        metrics = utility(recoding, columns, sizes)
        outcomes[recoding.algorithm] = (recoding, output, verification, metrics, sizes)
    if not outcomes:
        raise errors[0]
    chosen = min(outcomes, key=lambda name: _score(outcomes[name][3], config.quality))
    recoding, output, verification, metrics, sizes = outcomes[chosen]
    risk = prosecutor_risk(sizes, config.k)
    steps = (*prepared.steps, _standard_5(config, verification, metrics))
    report_progress("report", 1.0)
    return AnonymizationResult(
        output=output,
        algorithm=chosen,
        transformation=recoding.transformation,
        metrics=metrics,
        risk=risk,
        verification=verification,
        report=_report(
            definition, output, steps, chosen, verification, metrics, risk, provision_method
        ),
        method_record=_method_record(definition, config, columns, recoding, metrics),
        alternatives={name: value[3] for name, value in outcomes.items()},
        statistics=dict(recoding.details),
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
    base, groups = base_table(columns, sens_codes, sens_sizes)
    return full_domain(columns, base, groups, references, config, floors, progress)


def _standard_5(config: Config, verification: Verification, metrics: Utility) -> AppliedStep:
    measured = [f"k={verification.k}"]
    measured += [f"distinct l({n})={v}" for n, v in verification.l_distinct.items()]
    measured += [f"entropy l({n})={v:.3f}" for n, v in verification.l_entropy.items()]
    measured += [f"t({n})={v:.4f}" for n, v in verification.t.items()]
    criteria = ", ".join(c.describe() for c in config.criteria)
    return step(
        5,
        [],
        f"{criteria}; suppression limit {config.suppression_limit:g}; "
        f"{metrics.suppressed_rows} row(s) suppressed; measured on the release: "
        + ", ".join(measured),
    )


def _report(
    definition: Definition,
    output: pd.DataFrame,
    steps: tuple[AppliedStep, ...],
    algorithm: str,
    verification: Verification,
    metrics: Utility,
    risk: Risk,
    provision_method: str,
) -> ProcessingReport:
    treatment = {
        ColumnKind.QUASI_IDENTIFYING: "generalized (quasi-identifier)",
        ColumnKind.SENSITIVE: "released as is, protected by the privacy model (sensitive)",
        ColumnKind.INSENSITIVE: "released as is (insensitive)",
        ColumnKind.LINKING: "replaced with unlinkable random codes",
    }
    categories = tuple(
        ColumnCategory(
            column=name,
            category=definition.columns[name].category.value,
            treatment=treatment[definition.columns[name].kind],
        )
        for name in output.columns
    )
    privacy: dict[str, object] = {
        "k": verification.k,
        "l_distinct": verification.l_distinct,
        "l_entropy": verification.l_entropy,
        "t": verification.t,
        "equivalence_classes": verification.equivalence_classes,
    }
    return ProcessingReport(
        categories=categories,
        provision_method=provision_method,
        steps=steps,
        algorithm=algorithm,
        privacy=privacy,
        utility=metrics.to_dict(),
        risk=risk.to_dict(),
    )


def _method_record(
    definition: Definition,
    config: Config,
    columns: list[EncodedColumn],
    recoding: Recoding,
    metrics: Utility,
) -> ProcessingMethodRecord:
    deleted = definition.names(ColumnKind.IDENTIFYING)
    linking = definition.names(ColumnKind.LINKING)
    replaced = linking if config.linking.value == "replace" else []
    if not replaced:
        deleted = deleted + linking
    return ProcessingMethodRecord(
        algorithm=recoding.algorithm,
        deleted_columns=tuple(deleted),
        replaced_columns=tuple(replaced),
        quasi_identifiers=tuple(c.name for c in columns),
        transformation=recoding.transformation,
        hierarchy_heights={c.name: c.height for c in columns},
        criteria=tuple(c.describe() for c in config.criteria),
        suppression_limit=config.suppression_limit,
        suppressed_rows=metrics.suppressed_rows,
        top_coding=dict(config.top_coding),
        bottom_coding=dict(config.bottom_coding),
    )
