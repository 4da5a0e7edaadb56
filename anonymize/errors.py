"""Domain errors of the anonymization pipeline.

Messages name columns and counts, never cell values: personal data must not leak into logs.
"""


class AnonymizationError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class UnknownColumn(AnonymizationError):
    """A definition, criterion or hierarchy names a column the data does not have."""

    def __init__(self, columns: list[str], available: list[str]) -> None:
        self.columns = columns
        super().__init__(
            f"unknown column(s) {', '.join(columns)}; the data has: {', '.join(available)}"
        )


class UndefinedColumn(AnonymizationError):
    """The data has columns the definition does not classify."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        super().__init__(
            f"column(s) {', '.join(columns)} have no kind; classify each as identifying, "
            "quasi-identifying, sensitive, insensitive or linking before processing"
        )


class HierarchyMissingValue(AnonymizationError):
    """A quasi-identifier holds values its hierarchy does not list."""

    def __init__(self, column: str, missing_values: int, missing_rows: int) -> None:
        self.column = column
        self.missing_values = missing_values
        super().__init__(
            f"the hierarchy of column {column!r} lacks {missing_values} distinct value(s) "
            f"found in {missing_rows} row(s); add them to the hierarchy file"
        )


class IdentifierInReleasedColumn(AnonymizationError):
    """A column to be released holds identifiers or identification codes (個人識別符号)."""

    def __init__(self, column: str, finding: str) -> None:
        self.column = column
        super().__init__(
            f"column {column!r} is to be released but {finding}; define it as identifying "
            "(it will be deleted) or correct the data"
        )


class OverrideWithoutReason(AnonymizationError):
    """The seller's labels release columns less protected than the detector found, unexplained."""

    def __init__(self, findings: list[tuple[str, str, str]]) -> None:
        self.columns = [column for column, _, _ in findings]
        described = "; ".join(
            f"column {column!r} labelled {label} but the detector found: {finding}"
            for column, label, finding in findings
        )
        super().__init__(
            f"{described}. Give the reason for each such override (it is recorded and shown to "
            "the market's operators), or follow the detector's proposal"
        )


class ReleaseBlocked(AnonymizationError):
    """The anonymized output still holds personal identifiers; it must not be stored."""

    def __init__(self, findings: list[tuple[str, str]]) -> None:
        self.findings = findings
        super().__init__(
            "the anonymized output was blocked before storage: "
            + "; ".join(f"column {column!r}: {finding}" for column, finding in findings)
        )


class InvalidHierarchy(AnonymizationError):
    """A hierarchy is not a consistent tree of generalizations."""


class ContradictoryConfig(AnonymizationError):
    """The privacy models, suppression limit and algorithm cannot hold together."""


class KAnonymityNotReached(AnonymizationError):
    """No transformation satisfies the privacy models within the suppression limit."""


class VerificationFailed(AnonymizationError):
    """The released table, re-measured on its own, does not meet the privacy models."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__("the released table failed verification: " + "; ".join(failures))
