"""Anonymization pipeline: personal data in, verified 匿名加工情報 out (APPI art. 34 standards).

Shaped like ARX: `anonymize(data, definition, hierarchies, config)` returns a result with
the output, the transformation, information loss, risk, and the processing reports.
"""

from anonymize.builders import age_band_hierarchy, date_hierarchy, interval_hierarchy
from anonymize.config import Algorithm, Config, LinkingTreatment, QualityModel
from anonymize.criteria import (
    Criterion,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    RecursiveCLDiversity,
    TCloseness,
)
from anonymize.definition import ColumnKind, ColumnSpec, Definition, InfoCategory
from anonymize.detect import ColumnProposal, DefinitionProposal, detect_definition
from anonymize.errors import (
    AnonymizationError,
    ContradictoryConfig,
    HierarchyMissingValue,
    IdentifierInReleasedColumn,
    InvalidHierarchy,
    KAnonymityNotReached,
    OverrideWithoutReason,
    ReleaseBlocked,
    UndefinedColumn,
    UnknownColumn,
    VerificationFailed,
)
from anonymize.findings import (
    OverriddenBy,
    Override,
    Resolution,
    resolve_definition,
    scan_release,
)
from anonymize.geography import geography_hierarchy, prefecture_hierarchy, prefectures
from anonymize.hierarchy import Hierarchy
from anonymize.pipeline import AnonymizationResult, Progress, anonymize
from anonymize.recoding import Utility
from anonymize.report import ProcessingMethodRecord, ProcessingReport
from anonymize.risk import Risk
from anonymize.steps import AppliedStep
from anonymize.verify import Verification, verify

__all__ = [
    "Algorithm",
    "AnonymizationError",
    "AnonymizationResult",
    "AppliedStep",
    "ColumnKind",
    "ColumnProposal",
    "ColumnSpec",
    "Config",
    "ContradictoryConfig",
    "Criterion",
    "Definition",
    "DefinitionProposal",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "Hierarchy",
    "HierarchyMissingValue",
    "IdentifierInReleasedColumn",
    "InfoCategory",
    "InvalidHierarchy",
    "KAnonymity",
    "KAnonymityNotReached",
    "LinkingTreatment",
    "OverriddenBy",
    "Override",
    "OverrideWithoutReason",
    "ProcessingMethodRecord",
    "ProcessingReport",
    "Progress",
    "QualityModel",
    "RecursiveCLDiversity",
    "ReleaseBlocked",
    "Resolution",
    "Risk",
    "TCloseness",
    "UndefinedColumn",
    "UnknownColumn",
    "Utility",
    "Verification",
    "VerificationFailed",
    "age_band_hierarchy",
    "anonymize",
    "date_hierarchy",
    "detect_definition",
    "geography_hierarchy",
    "interval_hierarchy",
    "prefecture_hierarchy",
    "prefectures",
    "resolve_definition",
    "scan_release",
    "verify",
]
