"""Each component moves by the documented amount on small tables worked out by hand."""

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from market.quality import (
    AnonymizationFigures,
    Credibility,
    DatasetSchema,
    DeclarationMismatch,
    score_table,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def schema(**declared: object) -> DatasetSchema:
    return DatasetSchema.model_validate(declared)


def table(**columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns, dtype=object)


def full(rows: int = 10, columns: str = "abcde") -> dict[str, list[str]]:
    return {c: [f"{c}{i}" for i in range(rows)] for c in columns}


def test_twenty_percent_missing_in_one_of_five_columns_lowers_completeness_by_four_points() -> None:
    cells = full()
    cells["e"][3] = ""
    cells["e"][7] = "   "
    report = score_table(table(**cells), now=NOW)
    completeness = report.component("completeness")
    assert completeness.score == 96.0
    assert completeness.details["missing_by_column"] == {"e": 2}
    # Only completeness (20) and uniqueness (10) are measured: (20 × 96 + 10 × 100) / 30.
    assert report.exact == pytest.approx(97.3333, abs=1e-4)
    assert report.score == 97
    assert completeness.effective_weight == 66.67
    assert report.component("uniqueness").effective_weight == 33.33


def test_null_cells_count_as_missing() -> None:
    frame = pd.DataFrame({"a": ["1", None, "3", float("nan")]})
    assert score_table(frame, now=NOW).component("completeness").score == 50.0


def test_validity_counts_type_range_code_and_pattern_breaches_among_present_cells() -> None:
    frame = table(
        age=["5", "101", "x", "", "7"],
        pref=["東京都", "大阪府", "Tokyo", "東京都", "東京都"],
        code=["S001", "S002", "S03", "S004", "s005"],
    )
    declared = schema(
        columns=[
            {"name": "age", "type": "integer", "minimum": 0, "maximum": 100},
            {"name": "pref", "codes": ["東京都", "大阪府"]},
            {"name": "code", "pattern": "S[0-9]{3}"},
        ]
    )
    validity = score_table(frame, declared, now=NOW).component("validity")
    # age: 4 present, 101 out of range, x not an integer; pref: Tokyo not in the list;
    # code: S03 and s005 break the pattern. 5 of 14 present cells break their declaration.
    assert validity.details["by_column"]["age"] == {
        "checked": 4,
        "invalid": 2,
        "type": 1,
        "range": 1,
    }
    assert validity.details["by_column"]["pref"]["codes"] == 1
    assert validity.details["by_column"]["code"]["pattern"] == 2
    assert validity.score == round(100 * (1 - 5 / 14), 2)


@pytest.mark.parametrize(
    ("column_type", "good", "bad"),
    [
        ("integer", ["-3", "+4", " 12 "], ["1.5", "1e3", "１２"]),
        ("number", ["1.5", "-2", "1e3"], ["1,000", "inf", "nan"]),
        ("boolean", ["true", "FALSE", "1", "0"], ["yes", "t"]),
        ("date", ["2026-01-31", "2024-02-29"], ["2026/01/31", "2026-02-30", "31-01-2026"]),
        ("datetime", ["2026-01-31T10:00:00+09:00", "2026-01-31 10:00", "2026-01-31"], ["noon"]),
    ],
)
def test_declared_types_accept_and_refuse_what_docs_quality_md_says(
    column_type: str, good: list[str], bad: list[str]
) -> None:
    frame = table(v=good + bad)
    declared = schema(columns=[{"name": "v", "type": column_type}])
    validity = score_table(frame, declared, now=NOW).component("validity")
    assert validity.details["by_column"]["v"]["type"] == len(bad)


def test_date_ranges_compare_instants() -> None:
    frame = table(day=["2025-12-31", "2026-01-01", "2026-06-30", "2026-07-01"])
    declared = schema(
        columns=[{"name": "day", "type": "date", "minimum": "2026-01-01", "maximum": "2026-06-30"}]
    )
    assert score_table(frame, declared, now=NOW).component("validity").score == 50.0


def test_a_duplicate_record_lowers_uniqueness_by_its_share() -> None:
    frame = table(a=["1", "2", "3", "1"], b=["x", "y", "z", "x"])
    uniqueness = score_table(frame, now=NOW).component("uniqueness")
    assert uniqueness.score == 75.0
    assert uniqueness.details["duplicates"] == 1


def test_uniqueness_compares_the_declared_key_only() -> None:
    frame = table(id=["1", "2", "2", "3"], reading=["10", "11", "12", "13"])
    declared = schema(key_columns=["id"])
    assert score_table(frame, declared, now=NOW).component("uniqueness").score == 75.0
    assert score_table(frame, now=NOW).component("uniqueness").score == 100.0


def test_missing_values_are_equal_to_each_other_when_records_are_compared() -> None:
    frame = pd.DataFrame({"a": ["1", "1"], "b": ["", None]})
    assert score_table(frame, now=NOW).component("uniqueness").score == 50.0


def test_consistency_counts_rule_checks_on_records_with_readable_values() -> None:
    frame = table(
        start=["2026-01-01", "2026-01-05", "2026-01-03", "2026-01-04"],
        end=["2026-01-02", "2026-01-04", "", "2026-01-04"],
    )
    declared = schema(
        columns=[{"name": "start", "type": "date"}, {"name": "end", "type": "date"}],
        rules=["end >= start"],
    )
    consistency = score_table(frame, declared, now=NOW).component("consistency")
    # Row 3 has no end: 3 checks, one of which (row 2) fails.
    assert consistency.details["rules"] == [{"rule": "end >= start", "checked": 3, "violations": 1}]
    assert consistency.score == 66.67


def test_rules_combine_with_and_or_not_and_read_undeclared_numbers_as_numbers() -> None:
    frame = table(low=["9", "10", "2"], high=["10", "9", "100"], kind=["a", "b", "b"])
    declared = schema(rules=["not (high < low) and (kind == 'a' or high >= 50)"])
    consistency = score_table(frame, declared, now=NOW).component("consistency")
    # Compared as text "100" < "2" would hold; as numbers row 3 passes and only row 2 fails.
    assert consistency.details["violations"] == 1


def test_currentness_halves_when_the_newest_record_is_twice_the_update_frequency_old() -> None:
    newest = NOW - timedelta(days=14)
    frame = table(at=[(newest - timedelta(days=3)).isoformat(), newest.isoformat()])
    declared = schema(
        columns=[{"name": "at", "type": "datetime"}],
        timestamp_column="at",
        update_frequency_days=7,
    )
    assert score_table(frame, declared, now=NOW).component("currentness").score == 50.0
    fresh = score_table(frame, declared, now=newest + timedelta(days=7))
    assert fresh.component("currentness").score == 100.0


def test_currentness_is_zero_when_no_record_has_a_readable_timestamp() -> None:
    declared = schema(timestamp_column="at", update_frequency_days=1)
    currentness = score_table(table(at=["soon", ""]), declared, now=NOW).component("currentness")
    assert currentness.status == "measured"
    assert currentness.score == 0.0


def test_currentness_needs_both_timestamp_column_and_update_frequency() -> None:
    declared = schema(timestamp_column="at")
    frame = table(at=["2026-11-30"])
    assert score_table(frame, declared, now=NOW).component("currentness").status == "not_measured"


def test_privacy_and_utility_come_from_the_anonymizers_public_report() -> None:
    report = {
        "privacy": {"k": 5, "l_distinct": {"diagnosis": 2, "drug": 3}},
        "utility": {"ncp": 0.25},
    }
    figures = AnonymizationFigures.from_public_report(report)
    assert figures == AnonymizationFigures(k=5, l=2, ncp=0.25)
    scored = score_table(table(**full(4, "ab")), now=NOW, anonymization=figures)
    assert scored.component("privacy").score == 50.0  # min(1 - 1/5, 1 - 1/2)
    assert scored.component("utility").score == 75.0
    assert scored.component("uniqueness").status == "not_measured"
    without_l = AnonymizationFigures(k=4, l=None, ncp=0.0)
    assert (
        score_table(table(**full(4, "ab")), now=NOW, anonymization=without_l)
        .component("privacy")
        .score
        == 75.0
    )


def test_credibility_is_an_input_figure() -> None:
    record = Credibility(score=80.0, basis="12 deliveries, mean rating 4.2")
    scored = score_table(table(**full(4, "ab")), now=NOW, credibility=record)
    assert scored.component("credibility").score == 80.0
    # (20 × 100 + 10 × 100 + 10 × 80) / 40
    assert scored.exact == 95.0


def test_every_component_declared_weighs_as_documented() -> None:
    frame = table(
        id=["1", "2", "3", "4"],
        start=["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"],
        end=["2026-11-02", "2026-11-01", "2026-11-04", "2026-11-05"],
    )
    declared = schema(
        columns=[
            {"name": "id", "type": "integer", "maximum": 3},
            {"name": "start", "type": "date"},
            {"name": "end", "type": "date"},
        ],
        timestamp_column="end",
        update_frequency_days=13,
        rules=["end >= start"],
    )
    figures = AnonymizationFigures(k=10, l=None, ncp=0.5)
    scored = score_table(
        frame, declared, now=NOW, anonymization=figures, credibility=Credibility(60.0, "x")
    )
    found = {c.name: c.score for c in scored.components}
    assert found == {
        "completeness": 100.0,
        "validity": round(100 * 11 / 12, 2),
        "uniqueness": None,
        "consistency": 75.0,
        "currentness": 50.0,  # 26 days old, updated every 13
        "privacy": 90.0,
        "utility": 50.0,
        "credibility": 60.0,
    }
    weights = {"completeness": 20, "validity": 20, "consistency": 10, "currentness": 10}
    weights |= {"privacy": 10, "utility": 10, "credibility": 10}
    expected = sum(weights[n] * s for n, s in found.items() if s is not None) / 90
    assert scored.exact == pytest.approx(expected, abs=1e-3)
    assert sum(c.effective_weight for c in scored.components) == pytest.approx(100, abs=0.05)


def test_a_component_with_nothing_declared_is_not_measured_and_gives_up_its_weight() -> None:
    scored = score_table(table(**full(4, "ab")), now=NOW)
    not_measured = [c for c in scored.components if c.status == "not_measured"]
    assert {c.name for c in not_measured} == {
        "validity",
        "consistency",
        "currentness",
        "privacy",
        "utility",
        "credibility",
    }
    assert all(c.score is None and c.effective_weight == 0 for c in not_measured)
    assert all(c.explanation.startswith("not measured") for c in not_measured)


def test_a_table_without_cells_scores_zero() -> None:
    scored = score_table(pd.DataFrame({"a": []}, dtype=object), now=NOW)
    assert scored.score == 0
    assert scored.component("completeness").status == "not_measured"


def test_the_report_is_json_ready_and_never_holds_a_cell_value() -> None:
    frame = table(name=["山田太郎", "佐藤花子", ""], age=["41", "age?", "38"])
    declared = schema(
        columns=[{"name": "age", "type": "integer"}, {"name": "name", "pattern": "[a-z]+"}]
    )
    text = json.dumps(score_table(frame, declared, now=NOW).to_dict(), ensure_ascii=False)
    assert "山田太郎" not in text and "佐藤花子" not in text and "age?" not in text


def test_a_declaration_naming_a_column_the_table_lacks_is_refused_naming_the_field() -> None:
    declared = schema(columns=[{"name": "a"}, {"name": "speed", "type": "number"}])
    with pytest.raises(DeclarationMismatch) as refused:
        score_table(table(a=["1"]), declared, now=NOW)
    assert refused.value.field == "columns.1.name"
    with pytest.raises(DeclarationMismatch) as refused:
        score_table(table(a=["1"]), schema(rules=["a > b"]), now=NOW)
    assert refused.value.field == "rules.0"


def test_a_rule_comparing_different_kinds_is_refused_naming_the_rule() -> None:
    frame = table(n=["1", "2"], d=["2026-01-01", "2026-01-02"])
    declared = schema(
        columns=[{"name": "n", "type": "number"}, {"name": "d", "type": "date"}],
        rules=["n > 0", "d > n"],
    )
    with pytest.raises(DeclarationMismatch) as refused:
        score_table(frame, declared, now=NOW)
    assert refused.value.field == "rules.1"
    with pytest.raises(DeclarationMismatch, match="quote it"):
        score_table(table(s=["a"]), schema(rules=["s == 12"]), now=NOW)


def test_the_clock_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        score_table(table(a=["1"]), now=datetime(2026, 12, 1))


def test_typed_frames_are_read_by_their_text_and_whole_floats_stay_integers() -> None:
    frame = pd.DataFrame({"count": [1, 2, None], "share": [0.5, None, 2.0]})
    declared = schema(
        columns=[{"name": "count", "type": "integer"}, {"name": "share", "type": "number"}],
        rules=["count < share"],
    )
    scored = score_table(frame, declared, now=NOW)
    assert scored.component("validity").score == 100.0
    assert scored.component("consistency").details["checks"] == 1
