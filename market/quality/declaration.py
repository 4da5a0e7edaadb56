"""What a seller declares about a dataset: its column dictionary, timestamp, update frequency and rules.

The declaration is what validity, consistency, currentness and uniqueness are measured against
(docs/quality.md). It is checked on its own here (types, bounds, patterns, rule syntax) and
against a file's header by `check_against`.
"""

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parser  # type: ignore[attr-defined]
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from market.quality.rules import RuleSyntaxError, parse_rule

ColumnType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
NUMERIC_TYPES = ("integer", "number")
TIME_TYPES = ("date", "datetime")
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
# A pattern is matched by Python's backtracking engine, so only shapes that cannot backtrack
# explosively are accepted, and only values up to this length are matched (longer ones fail it).
PATTERN_MAX_VALUE_CHARS = 256
_LONG_REPEAT = 16
_MAX_LONG_REPEATS = 2
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_REFUSED = {
    "GROUPREF": "back-references",
    "GROUPREF_EXISTS": "conditional groups",
    "ASSERT": "look-arounds",
    "ASSERT_NOT": "look-arounds",
}

Text = Annotated[str, Field(pattern=_NO_CONTROL)]
Bound = Annotated[StrictInt | StrictFloat | StrictStr, Field(union_mode="left_to_right")]


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time as a UTC-aware instant (naive values are taken as UTC)."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_pattern(pattern: str) -> str:
    """Refuse a regular expression that could backtrack explosively or does not compile."""
    try:
        parsed = sre_parser.parse(pattern)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    long_repeats = _walk(list(parsed), inside_repeat=False)
    if long_repeats > _MAX_LONG_REPEATS:
        raise ValueError(
            f"at most {_MAX_LONG_REPEATS} open-ended repeats (+, *, {{n,}} or over "
            f"{_LONG_REPEAT}) are allowed in a pattern"
        )
    return pattern


def _walk(items: list[tuple[Any, Any]], *, inside_repeat: bool) -> int:
    """Count long repeats; refuse nested repeats, alternation under a repeat, references, look-arounds."""
    long_repeats = 0
    for op, argument in items:
        name = str(op)
        if name in _REFUSED:
            raise ValueError(f"{_REFUSED[name]} are not allowed in a pattern")
        if name in _REPEATS:
            _, high, body = argument
            repeats = high > 1
            if repeats and inside_repeat:
                raise ValueError("nested repeats such as (a+)+ are not allowed in a pattern")
            if high is sre_constants.MAXREPEAT or high > _LONG_REPEAT:
                long_repeats += 1
            long_repeats += _walk(list(body), inside_repeat=inside_repeat or repeats)
        elif name == "SUBPATTERN":
            long_repeats += _walk(list(argument[3]), inside_repeat=inside_repeat)
        elif name == "ATOMIC_GROUP":
            long_repeats += _walk(list(argument), inside_repeat=inside_repeat)
        elif name == "BRANCH":
            if inside_repeat:
                raise ValueError(
                    "alternation inside a repeated group is not allowed in a pattern; "
                    "use a character class ([ab]+) instead"
                )
            for branch in argument[1]:
                long_repeats += _walk(list(branch), inside_repeat=False)
    return long_repeats


def _rule_parses(text: str) -> str:
    try:
        parse_rule(text)
    except RuleSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return text


Rule = Annotated[
    str,
    Field(min_length=1, max_length=500, pattern=_NO_CONTROL, examples=["end >= start"]),
    AfterValidator(_rule_parses),
]
ColumnName = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_CONTROL)]


class ColumnSchema(BaseModel):
    """One column of the dictionary: what it holds and what a valid value looks like."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ColumnName = Field(description="the column's name in the file's header")
    type: ColumnType = Field(
        default="string",
        description="string; integer or number (decimal, optional sign); boolean (true, false, "
        "1, 0); date (YYYY-MM-DD); datetime (ISO 8601, naive values taken as UTC)",
    )
    unit: Text | None = Field(default=None, max_length=50, examples=["km/h"])
    description: Text | None = Field(default=None, max_length=1000)
    codes: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=10_000, description="the only values allowed"
    )
    minimum: Bound | None = Field(
        default=None, description="smallest valid value: a number, or an ISO date for dates"
    )
    maximum: Bound | None = Field(
        default=None, description="largest valid value: a number, or an ISO date for dates"
    )
    pattern: (
        Annotated[str, Field(min_length=1, max_length=200), AfterValidator(check_pattern)] | None
    ) = Field(
        default=None,
        description="regular expression every value must match in full; no back-references, "
        "look-arounds, nested repeats or alternation under a repeat, at most two open-ended "
        f"repeats; values over {PATTERN_MAX_VALUE_CHARS} characters fail it",
    )

    @model_validator(mode="after")
    def _bounds_fit_the_type(self) -> "ColumnSchema":
        bounds = [b for b in (self.minimum, self.maximum) if b is not None]
        if not bounds:
            return self
        if self.type in NUMERIC_TYPES:
            if not all(isinstance(b, int | float) and math.isfinite(b) for b in bounds):
                raise ValueError(f"minimum and maximum of an {self.type} column are numbers")
        elif self.type in TIME_TYPES:
            try:
                instants = [parse_instant(b) for b in bounds if isinstance(b, str)]
            except ValueError:
                instants = []
            if len(instants) != len(bounds):
                raise ValueError(f"minimum and maximum of a {self.type} column are ISO dates")
        else:
            raise ValueError(f"a {self.type} column takes no minimum or maximum")
        if self.minimum is not None and self.maximum is not None:
            low, high = str(self.minimum), str(self.maximum)
            inverted = (
                parse_instant(low) > parse_instant(high)
                if self.type in TIME_TYPES
                else float(low) > float(high)
            )
            if inverted:
                raise ValueError("minimum is above maximum")
        return self

    @property
    def constrained(self) -> bool:
        """Whether this entry declares anything a value can break."""
        return (
            self.type != "string"
            or self.codes is not None
            or self.pattern is not None
            or self.minimum is not None
            or self.maximum is not None
        )


class DatasetSchema(BaseModel):
    """A dataset's declaration: the column dictionary plus dataset-level facts and rules."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "columns": [
                        {"name": "sensor", "pattern": "S[0-9]{3}"},
                        {"name": "speed", "type": "number", "unit": "km/h", "minimum": 0},
                        {"name": "start", "type": "datetime"},
                        {"name": "end", "type": "datetime"},
                    ],
                    "timestamp_column": "end",
                    "update_frequency_days": 1,
                    "rules": ["end >= start"],
                }
            ]
        },
    )

    columns: list[ColumnSchema] = Field(default_factory=list, max_length=1_000)
    timestamp_column: ColumnName | None = Field(
        default=None, description="the column whose newest value dates the dataset"
    )
    update_frequency_days: float | None = Field(
        default=None, gt=0, le=36_500, description="how often the seller updates the data"
    )
    key_columns: list[ColumnName] = Field(
        default_factory=list,
        max_length=100,
        description="columns that identify a record; empty: the whole record",
    )
    rules: list[Rule] = Field(
        default_factory=list,
        max_length=50,
        description="cross-field rules every record should satisfy: comparisons (== != < <= > >=) "
        "of columns (bare names, or `quoted`) and literals (numbers, 'text', true, false) "
        "joined by and, or, not and parentheses",
    )

    @model_validator(mode="after")
    def _names_are_consistent(self) -> "DatasetSchema":
        names = [c.name for c in self.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"columns declared twice: {', '.join(repeated)}")
        if len(set(self.key_columns)) != len(self.key_columns):
            raise ValueError("key_columns names a column twice")
        if self.timestamp_column is not None:
            declared = self.column(self.timestamp_column)
            if declared is not None and declared.type not in TIME_TYPES:
                raise ValueError(
                    f"timestamp_column {self.timestamp_column} is declared {declared.type}; "
                    "declare it date or datetime"
                )
        return self

    def column(self, name: str) -> ColumnSchema | None:
        """The dictionary entry of a column, if declared."""
        return next((c for c in self.columns if c.name == name), None)

    def referenced(self) -> list[tuple[str, str]]:
        """Every (field, column name) the declaration refers to."""
        found = [(f"columns.{i}.name", c.name) for i, c in enumerate(self.columns)]
        found += [(f"key_columns.{i}", name) for i, name in enumerate(self.key_columns)]
        if self.timestamp_column is not None:
            found.append(("timestamp_column", self.timestamp_column))
        for i, text in enumerate(self.rules):
            found += [(f"rules.{i}", name) for name in sorted(parse_rule(text).columns())]
        return found


class DeclarationMismatch(ValueError):
    """A declaration refers to something the table does not hold."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_against(schema: DatasetSchema, columns: Sequence[str]) -> None:
    """Raise DeclarationMismatch naming the first field that refers to a column not in `columns`."""
    present = set(columns)
    for field, name in schema.referenced():
        if name not in present:
            raise DeclarationMismatch(field, f"{name!r} is not a column of the file")
