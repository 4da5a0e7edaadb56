"""Builds the public processing report and the confidential method record of a release."""

from __future__ import annotations

import pandas as pd

from anonymize.config import Config, LinkingTreatment
from anonymize.definition import ColumnKind, Definition
from anonymize.encoding import EncodedColumn
from anonymize.recoding import Recoding, Utility
from anonymize.report import (
    CATEGORY_LABELS,
    ColumnCategory,
    ProcessingMethodRecord,
    ProcessingReport,
)
from anonymize.risk import Risk
from anonymize.steps import AppliedStep, step
from anonymize.verify import Verification


def standard_5_step(config: Config, verification: Verification, metrics: Utility) -> AppliedStep:
    """Standard 5 as applied: the privacy models, suppression, and what was measured."""
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


def build_report(
    definition: Definition,
    output: pd.DataFrame,
    steps: tuple[AppliedStep, ...],
    algorithm: str,
    verification: Verification,
    metrics: Utility,
    risk: Risk,
    provision_method: str,
) -> ProcessingReport:
    """The public report: categories of the released items, provision, steps, figures."""
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
            label=CATEGORY_LABELS.get(definition.columns[name].category.value, name),
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


def build_method_record(
    definition: Definition,
    config: Config,
    columns: list[EncodedColumn],
    recoding: Recoding,
    metrics: Utility,
) -> ProcessingMethodRecord:
    """The confidential record of how the data was processed (加工方法等情報)."""
    deleted = definition.names(ColumnKind.IDENTIFYING)
    linking = definition.names(ColumnKind.LINKING)
    replaced = linking if config.linking == LinkingTreatment.REPLACE else []
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
