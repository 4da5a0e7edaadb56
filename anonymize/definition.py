"""Column definition: which columns identify, which are quasi-identifiers, which are sensitive.

Mirrors ARX's DataDefinition, with LINKING added for internal IDs (APPI standard 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from anonymize.errors import ContradictoryConfig, UndefinedColumn, UnknownColumn


class ColumnKind(StrEnum):
    """Role of a column in anonymization (ARX's attribute types plus LINKING)."""

    IDENTIFYING = "identifying"
    QUASI_IDENTIFYING = "quasi_identifying"
    SENSITIVE = "sensitive"
    INSENSITIVE = "insensitive"
    LINKING = "linking"


class InfoCategory(StrEnum):
    """Category of personal information a column holds, for the steps and the public notice."""

    NAME = "name"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"
    BIRTH_DATE = "birth_date"
    DATE = "date"
    FREE_TEXT = "free_text"
    MY_NUMBER = "my_number"
    PASSPORT = "passport"
    DRIVERS_LICENCE = "drivers_licence"
    HEALTH_INSURANCE = "health_insurance"
    BASIC_PENSION = "basic_pension"
    INTERNAL_ID = "internal_id"
    AGE = "age"
    GENDER = "gender"
    OTHER = "other"


#: Categories that are 個人識別符号 (individual identification codes, APPI art. 2(2)).
IDENTIFICATION_CODES = frozenset(
    {
        InfoCategory.MY_NUMBER,
        InfoCategory.PASSPORT,
        InfoCategory.DRIVERS_LICENCE,
        InfoCategory.HEALTH_INSURANCE,
        InfoCategory.BASIC_PENSION,
    }
)


#: Categories that identify a person by themselves: never released (standards 1 and 2).
MUST_DELETE = IDENTIFICATION_CODES | {InfoCategory.NAME, InfoCategory.PHONE, InfoCategory.EMAIL}
#: Categories a detector finding removes whatever the seller's label: MUST_DELETE and linking IDs.
IDENTIFIERS = MUST_DELETE | {InfoCategory.INTERNAL_ID}
#: The least level each category is released at, on its default hierarchy (standard 1):
#: addresses at the municipality (geography level 1), dates at the year (date level 2: the
#: level below, year-month, still narrows a birth date to some 30 days), free text at `*`.
FLOORS = {
    InfoCategory.ADDRESS: 1,
    InfoCategory.BIRTH_DATE: 2,
    InfoCategory.DATE: 2,
    InfoCategory.FREE_TEXT: 1,
}
#: Categories released only generalized to their floor, never as is (standard 1).
MUST_GENERALIZE = frozenset({InfoCategory.ADDRESS, InfoCategory.BIRTH_DATE, InfoCategory.DATE})


#: Kinds whose values are released unchanged.
RELEASED_AS_IS = frozenset({ColumnKind.SENSITIVE, ColumnKind.INSENSITIVE})


@dataclass(frozen=True)
class ColumnSpec:
    """Kind of one column, its information category, and the least generalization it needs."""

    kind: ColumnKind
    category: InfoCategory = InfoCategory.OTHER
    min_level: int = 0


def effective_floor(spec: ColumnSpec) -> int:
    """The least level a column is released at: its own floor or its category's (FLOORS)."""
    return max(spec.min_level, FLOORS.get(spec.category, 0))


@dataclass(frozen=True)
class Definition:
    """The seller-confirmed role of every column."""

    columns: Mapping[str, ColumnSpec] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        quasi: Iterable[str] = (),
        sensitive: Iterable[str] = (),
        identifying: Iterable[str] = (),
        insensitive: Iterable[str] = (),
        linking: Iterable[str] = (),
    ) -> Definition:
        """Build a definition from lists of column names per kind."""
        spec: dict[str, ColumnSpec] = {}
        for kind, names in (
            (ColumnKind.QUASI_IDENTIFYING, quasi),
            (ColumnKind.SENSITIVE, sensitive),
            (ColumnKind.IDENTIFYING, identifying),
            (ColumnKind.INSENSITIVE, insensitive),
            (ColumnKind.LINKING, linking),
        ):
            for name in names:
                spec[name] = ColumnSpec(kind)
        return cls(spec)

    def with_column(self, name: str, spec: ColumnSpec) -> Definition:
        """Return a copy with one column's spec replaced (the seller's edit)."""
        return Definition({**self.columns, name: spec})

    def names(self, kind: ColumnKind) -> list[str]:
        """Columns of one kind, in definition order."""
        return [name for name, spec in self.columns.items() if spec.kind == kind]

    @property
    def quasi_identifiers(self) -> list[str]:
        """Quasi-identifying columns."""
        return self.names(ColumnKind.QUASI_IDENTIFYING)

    @property
    def sensitive(self) -> list[str]:
        """Sensitive columns."""
        return self.names(ColumnKind.SENSITIVE)

    def check_standards(self) -> None:
        """Refuse definitions that would release what standards 1 and 2 require removed."""
        for name, spec in self.columns.items():
            if spec.kind == ColumnKind.IDENTIFYING:
                continue
            if spec.category in MUST_DELETE:
                raise ContradictoryConfig(
                    f"column {name!r} holds {spec.category.value} data, which APPI standards 1-2 "
                    "require deleted; define it as identifying"
                )
            if spec.category in MUST_GENERALIZE and spec.kind in RELEASED_AS_IS:
                raise ContradictoryConfig(
                    f"column {name!r} holds {spec.category.value} data, which APPI standard 1 "
                    "releases only generalized; define it as quasi_identifying or identifying"
                )

    def check_against(self, columns: Iterable[str]) -> None:
        """Raise if the definition and the data disagree on the set of columns."""
        present = list(columns)
        unknown = [name for name in self.columns if name not in present]
        if unknown:
            raise UnknownColumn(unknown, present)
        undefined = [name for name in present if name not in self.columns]
        if undefined:
            raise UndefinedColumn(undefined)
