"""The kept parts of a listing view (quality breakdown, coverage) are what the API's models make
of the stored values: the same Python values, and the same JSON bytes once serialized."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import to_json

from api.routers.catalog import CoveragePublic
from api.schemas import QualitySummary
from market.catalog.views import KeptViews, entry_details, quality_summary

ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=9)), timezone(-timedelta(hours=5, minutes=30))]
)
# Scores as the scorer stores them (floats, whole numbers as ints) and as they could be.
SCORES = st.none() | st.integers(0, 100) | st.floats(allow_nan=True, allow_infinity=True)
# Text JSON can carry (no lone surrogates).
TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
COMPONENTS = st.fixed_dictionaries(
    {
        "name": TEXT,
        "status": st.sampled_from(["measured", "not_measured"]),
        "score": SCORES,
        "weight": st.integers(0, 100) | st.sampled_from([20.0, 5.0]),
        "effective_weight": st.integers(0, 1) | st.floats(0, 1),
        "formula": TEXT,
        "explanation": TEXT,
        "details": st.dictionaries(TEXT, st.integers(), max_size=3),
    }
)
QUALITY = st.fixed_dictionaries(
    {
        "score": st.integers(0, 100),
        "exact": st.floats(0, 100),
        "method": TEXT,
        "rows": st.integers(0, 10**9),
        "columns": st.integers(0, 1000),
        "measured_at": st.datetimes(timezones=ZONES).map(datetime.isoformat),
        "components": st.lists(COMPONENTS, max_size=8),
    }
)
COVERAGE = st.fixed_dictionaries(
    {},
    optional={
        "period_start": st.none() | st.dates().map(date.isoformat),
        "period_end": st.none() | st.dates().map(date.isoformat),
        "geography": st.lists(TEXT, max_size=5),
    },
)


def as_stored(value: Any) -> str:
    """The JSON text a JSON column holds (SQLAlchemy writes it with json.dumps)."""
    return json.dumps(value)


@given(QUALITY)
def test_a_kept_quality_breakdown_is_what_the_model_makes_of_the_stored_one(
    stored: dict[str, Any],
) -> None:
    model = QualitySummary.model_validate(stored)
    kept = quality_summary(as_stored(stored))
    assert kept is not None
    assert to_json(kept, inf_nan_mode="null") == model.model_dump_json().encode()
    assert [type(value) for value in kept.values()] == [
        type(value) for value in model.model_dump().values()
    ]


@given(COVERAGE, st.booleans())
def test_a_kept_coverage_is_what_the_model_makes_of_the_stored_metadata(
    coverage: dict[str, Any], declared: bool
) -> None:
    details = {"coverage": coverage} if declared else {}
    shown = {
        "period_start": coverage.get("period_start"),
        "period_end": coverage.get("period_end"),
        "geography": coverage.get("geography", []),
    }
    model = CoveragePublic.model_validate(shown if declared else {})
    kept = entry_details(as_stored(details)).coverage
    assert kept == model.model_dump()
    assert to_json(kept) == model.model_dump_json().encode()


def test_a_dataset_without_a_breakdown_shows_none() -> None:
    assert quality_summary(None) is None
    # A JSON column holding Python's None as JSON null.
    assert quality_summary("null") is None
    assert entry_details(None).coverage == CoveragePublic().model_dump()
    assert entry_details("null").stored is None


def test_a_new_breakdown_is_a_new_view() -> None:
    measured = {
        "score": 80,
        "method": "dm-quality-1",
        "measured_at": "2026-11-01T09:30:00+00:00",
        "components": [],
    }
    before = quality_summary(as_stored(measured))
    after = quality_summary(as_stored(measured | {"score": 90}))
    assert before is not None and after is not None
    assert (before["score"], after["score"]) == (80, 90)


def test_kept_views_build_each_text_once_and_forget_the_least_recently_used() -> None:
    built: list[str] = []

    def build(text: str) -> str:
        built.append(text)
        return text.upper()

    kept = KeptViews(build, size=2)
    assert [kept(text) for text in ("a", "b", "a", "c", "b", "a")] == ["A", "B", "A", "C", "B", "A"]
    # "b" was the least recently used when "c" came, then "a" when "b" came back.
    assert built == ["a", "b", "c", "b", "a"]
