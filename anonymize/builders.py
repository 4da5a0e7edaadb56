"""Builders of hierarchies for intervals (numbers), dates, and top/bottom coding."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Sequence

from anonymize.errors import InvalidHierarchy
from anonymize.hierarchy import ROOT, Hierarchy


def _number(text: str) -> float:
    return float(text)


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def interval_hierarchy(
    values: Iterable[str], widths: Sequence[float] = (5, 10, 20), origin: float = 0
) -> Hierarchy:
    """Numbers -> intervals of growing width (e.g. 30-34, 30-39) -> *; widths must nest."""
    for narrow, wide in itertools.pairwise(widths):
        if wide % narrow:
            raise InvalidHierarchy("each interval width must be a multiple of the one below")
    rows = []
    for text in sorted(set(values), key=_number):
        number = _number(text)
        row = [text]
        for width in widths:
            low = origin + ((number - origin) // width) * width
            high = low + width
            upper = high - 1 if float(width).is_integer() and number.is_integer() else high
            row.append(f"{_format(low)}-{_format(upper)}")
        row.append(ROOT)
        rows.append(row)
    return Hierarchy.from_rows(rows)


def top_code(hierarchy: Hierarchy, threshold: float, label: str | None = None) -> Hierarchy:
    """Recode every value at or above threshold into one label (e.g. 90歳以上) at level 1.

    APPI standard 4: rare extreme values are recoded. Above level 1 the label joins the
    lowest ancestor that every top-coded value shares, so the tree stays consistent.
    """
    return _edge_code(hierarchy, threshold, label or f"{_format(threshold)}+", above=True)


def bottom_code(hierarchy: Hierarchy, threshold: float, label: str | None = None) -> Hierarchy:
    """Recode every value at or below threshold into one label (e.g. 19歳以下) at level 1."""
    return _edge_code(hierarchy, threshold, label or f"<={_format(threshold)}", above=False)


def _edge_code(hierarchy: Hierarchy, threshold: float, label: str, above: bool) -> Hierarchy:
    def coded(value: str) -> bool:
        number = _number(value)
        return number >= threshold if above else number <= threshold

    selected = [row for row in hierarchy.rows if coded(row[0])]
    if not selected:
        return hierarchy
    if hierarchy.height < 3:
        raise InvalidHierarchy(
            "top/bottom coding needs a level between the values and the root (*); "
            "give an interval hierarchy"
        )
    shared_from = next(
        level for level in range(1, hierarchy.height) if len({row[level] for row in selected}) == 1
    )
    others = {row[level] for row in hierarchy.rows if not coded(row[0]) for level in (1,)}
    if label in others:
        raise InvalidHierarchy("the top/bottom coding label collides with an existing label")
    rows = []
    for row in hierarchy.rows:
        if coded(row[0]):
            rows.append((row[0], *(label for _ in range(1, shared_from)), *row[shared_from:]))
        else:
            rows.append(row)
    return Hierarchy(tuple(rows))


_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$")


def parse_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD, YYYY/M/D or YYYY.MM.DD; ValueError otherwise."""
    match = _DATE.match(text)
    if match is None:
        raise ValueError("not a date in YYYY-MM-DD form")
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year, month, day)


def date_hierarchy(values: Iterable[str]) -> Hierarchy:
    """Dates -> year-month -> year -> decade -> * (APPI standard 1 cuts dates to the year)."""
    rows = []
    for text in sorted(set(values)):
        day = parse_date(text)
        decade = day.year // 10 * 10
        rows.append(
            (
                text,
                f"{day.year:04d}-{day.month:02d}",
                f"{day.year:04d}",
                f"{decade}-{decade + 9}",
                ROOT,
            )
        )
    return Hierarchy.from_rows(rows)


def age_band_hierarchy(
    values: Iterable[str], reference: dt.date, widths: Sequence[int] = (5, 10, 20)
) -> Hierarchy:
    """ISO birth dates -> age bands at the reference date (e.g. 30-34) -> wider bands -> *."""
    rows = []
    for text in sorted(set(values)):
        born = parse_date(text)
        age = (
            reference.year - born.year - ((reference.month, reference.day) < (born.month, born.day))
        )
        bands = []
        for width in widths:
            low = age // width * width
            bands.append(f"{low}-{low + width - 1}")
        rows.append((text, *bands, ROOT))
    return Hierarchy.from_rows(rows)
