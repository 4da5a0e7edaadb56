"""Each column factorized once: which records are missing, and what each distinct value reads as.

Every check runs on a column's distinct values (a few thousand where a table has a million rows)
and reaches the records through their codes, so nothing loops over rows in Python.
"""

import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import infer_dtype

from market.quality.declaration import ColumnType, parse_instant
from market.quality.rules import Kind, RuleTypeError, Values

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
KIND_OF_TYPE: dict[str, Kind] = {
    "string": "string",
    "integer": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "datetime",
    "datetime": "datetime",
}
_TRUE = ("true", "1")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BOOLEANS = ("true", "false", "1", "0")


@dataclass(frozen=True)
class Reading:
    """What a column's distinct values read as under one type: readable or not, and their value."""

    kind: Kind
    readable: BoolArray
    values: npt.NDArray[np.generic]


@dataclass
class ColumnProfile:
    """One column: a code per record (-1 where missing), its distinct values, and their counts."""

    codes: IntArray
    text: pd.Series
    counts: IntArray
    _readings: dict[str, Reading] = field(default_factory=dict)

    @property
    def missing(self) -> int:
        return int(len(self.codes) - self.counts.sum())

    def reading(self, column_type: ColumnType) -> Reading:
        """The distinct values read as `column_type` (computed once per type)."""
        if column_type not in self._readings:
            self._readings[column_type] = read_as(self.text, column_type)
        return self._readings[column_type]

    def inferred(self) -> Reading:
        """Numbers where every present value is a number, otherwise text (for undeclared columns)."""
        number = self.reading("number")
        present = self.counts > 0
        if present.any() and bool(number.readable[present].all()):
            return number
        return self.reading("string")

    def values(self, reading: Reading) -> Values:
        """A reading spread back over the records, with the records where it is readable."""
        index = np.maximum(self.codes, 0)
        readable = (
            (self.codes >= 0) & reading.readable[index]
            if len(reading.readable)
            else (np.zeros(len(self.codes), dtype=bool))
        )
        values = reading.values[index] if len(reading.values) else np.zeros(len(self.codes))
        return Values(reading.kind, values, readable)


def profile_column(series: pd.Series) -> ColumnProfile:
    """Factorize a column; nulls, empty and whitespace-only cells are missing.

    Values are read with surrounding whitespace stripped; cells of other types by their text.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    values = np.asarray(uniques, dtype=object)
    if infer_dtype(values, skipna=False) not in ("string", "empty"):
        values = np.fromiter(map(_as_text, values), dtype=object, count=len(values))
    stripped = np.fromiter(map(str.strip, values), dtype=object, count=len(values))
    blank = np.asarray(stripped == "", dtype=bool)
    if blank.any():
        codes = np.where((codes >= 0) & blank[np.maximum(codes, 0)], -1, codes)
    counts = np.bincount(codes[codes >= 0], minlength=len(stripped)).astype(np.int64)
    return ColumnProfile(codes, pd.Series(stripped, dtype=object), counts)


def _as_text(value: object) -> str:
    """A cell of a typed frame as text; whole floats (integers widened by a null) without '.0'."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def full_matches(
    text: pd.Series, pattern: re.Pattern[str], max_chars: int | None = None
) -> BoolArray:
    """Which values `pattern` matches in full; values over `max_chars` never match."""
    values = text.to_numpy(dtype=object)
    keep = np.ones(len(values), dtype=bool)
    if max_chars is not None:
        keep = np.fromiter(map(len, values), dtype=np.int64, count=len(values)) <= max_chars
    found = np.zeros(len(values), dtype=bool)
    found[keep] = np.fromiter(
        map(bool, map(pattern.fullmatch, values[keep])), dtype=bool, count=int(keep.sum())
    )
    return found


def read_as(text: pd.Series, column_type: ColumnType) -> Reading:
    """Read distinct values (stripped text) as a declared type."""
    kind = KIND_OF_TYPE[column_type]
    if column_type == "string":
        return Reading(kind, np.ones(len(text), dtype=bool), text.to_numpy(dtype=object))
    if column_type == "boolean":
        lowered = text.str.lower()
        return Reading(
            kind, lowered.isin(_BOOLEANS).to_numpy(), lowered.isin(_TRUE).to_numpy(dtype=bool)
        )
    if column_type in ("integer", "number"):
        candidates = text.where(full_matches(text, _INTEGER)) if column_type == "integer" else text
        numbers = pd.to_numeric(candidates, errors="coerce").to_numpy(dtype=np.float64)
        return Reading(kind, np.isfinite(numbers), numbers)
    if column_type == "date":
        shaped = text.where(full_matches(text, _DATE))
        instants = pd.to_datetime(shaped, format="%Y-%m-%d", errors="coerce", utc=True)
    else:
        instants = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    readable = instants.notna().to_numpy()
    nanoseconds = instants.to_numpy(dtype="datetime64[ns]").view(np.int64)
    return Reading(kind, readable, np.where(readable, nanoseconds, 0))


def coerce_constant(kind: Kind, value: float | str | bool) -> object:
    """A rule's literal in the kind of the column it is compared with."""
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "number" and isinstance(value, float):
        return value
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "datetime" and isinstance(value, str):
        try:
            return pd.Timestamp(parse_instant(value)).as_unit("ns").value
        except ValueError:
            raise RuleTypeError(f"{value!r} is not an ISO date") from None
    shown = "text" if isinstance(value, str) else type(value).__name__
    hint = " (quote it: '12')" if kind == "string" else ""
    raise RuleTypeError(f"compares a {kind} column with a {shown} value{hint}")


def instant_bound(value: int | float | str) -> int:
    """A date bound in nanoseconds since the epoch, like a datetime reading's values."""
    return int(pd.Timestamp(parse_instant(str(value))).as_unit("ns").value)
