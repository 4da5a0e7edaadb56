"""The pipeline applies the five APPI standards, the privacy models, and refuses bad releases."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from anonymize import (
    Algorithm,
    ColumnKind,
    ColumnSpec,
    Config,
    Definition,
    DistinctLDiversity,
    EntropyLDiversity,
    IdentifierInReleasedColumn,
    InfoCategory,
    KAnonymity,
    KAnonymityNotReached,
    LinkingTreatment,
    RecursiveCLDiversity,
    TCloseness,
    anonymize,
    geography_hierarchy,
    interval_hierarchy,
)
from anonymize.verify import measure_distinct_l, measure_k, measure_t

from .factories import people


def people_definition() -> Definition:
    return Definition(
        {
            "氏名": ColumnSpec(ColumnKind.IDENTIFYING, InfoCategory.NAME),
            "マイナンバー": ColumnSpec(ColumnKind.IDENTIFYING, InfoCategory.MY_NUMBER),
            "会員ID": ColumnSpec(ColumnKind.LINKING, InfoCategory.INTERNAL_ID),
            "年齢": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.AGE),
            "性別": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.GENDER),
            "住所": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.ADDRESS, min_level=1),
            "病名": ColumnSpec(ColumnKind.SENSITIVE),
            "購入額": ColumnSpec(ColumnKind.INSENSITIVE),
        }
    )


def people_hierarchies(data: pd.DataFrame) -> dict:
    return {
        "年齢": interval_hierarchy(data["年齢"], (5, 10, 20)),
        "住所": geography_hierarchy(data["住所"]),
    }


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
def test_identifiers_and_codes_are_deleted_and_steps_reported(algorithm):
    data = people()
    result = anonymize(
        data,
        people_definition(),
        people_hierarchies(data),
        Config((KAnonymity(5),), algorithm=algorithm),
    )
    assert {"氏名", "マイナンバー", "会員ID"}.isdisjoint(result.output.columns)
    steps = {step.standard: step for step in result.report.steps}
    assert steps[1].columns == ("氏名", "住所") and "deleted" in steps[1].action
    assert steps[2].columns == ("マイナンバー",)
    assert steps[3].columns == ("会員ID",) and steps[3].action == "deleted"
    assert "k=" in steps[5].action
    assert result.verification.k >= 5


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
def test_addresses_are_never_released_finer_than_the_municipality(algorithm):
    data = people()
    result = anonymize(
        data,
        people_definition(),
        people_hierarchies(data),
        Config((KAnonymity(5),), algorithm=algorithm),
    )
    assert not set(result.output["住所"]) & set(data["住所"])


def test_linking_codes_are_replaced_without_a_mapping():
    data = people()
    config = Config((KAnonymity(5),), linking=LinkingTreatment.REPLACE)
    first = anonymize(data, people_definition(), people_hierarchies(data), config)
    second = anonymize(data, people_definition(), people_hierarchies(data), config)
    assert not set(first.output["会員ID"]) & set(data["会員ID"])
    assert not set(first.output["会員ID"]) & set(second.output["会員ID"])
    assert "M00001" not in first.method_record.to_json()
    assert first.method_record.replaced_columns == ("会員ID",)


def test_my_numbers_hidden_in_a_released_column_are_refused():
    data = people()
    data["購入額"] = "123456789018"
    with pytest.raises(IdentifierInReleasedColumn, match="購入額") as error:
        anonymize(data, people_definition(), people_hierarchies(data), Config((KAnonymity(5),)))
    assert "123456789018" not in str(error.value)


def test_top_coding_recodes_the_oldest_ages():
    data = people(rows=600)
    config = Config((KAnonymity(3),), top_coding={"年齢": 90}, algorithm=Algorithm.OPTIMAL)
    hierarchies = people_hierarchies(data)
    result = anonymize(data, people_definition(), hierarchies, config)
    assert "年齢 top-coded at 90" in result.report.steps[3].action
    released = set(result.output["年齢"])
    assert not {str(age) for age in range(90, 100)} & released


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
@pytest.mark.parametrize(
    "criterion",
    [
        DistinctLDiversity("病名", 3),
        EntropyLDiversity("病名", 2.5),
        RecursiveCLDiversity("病名", 3, 2),
        TCloseness("病名", 0.3),
    ],
)
def test_sensitive_models_hold_on_the_release(algorithm, criterion):
    data = people(rows=800)
    config = Config((KAnonymity(4), criterion), algorithm=algorithm)
    result = anonymize(data, people_definition(), people_hierarchies(data), config)
    quasi = ["年齢", "性別", "住所"]
    assert measure_k(result.output, quasi) >= 4
    if isinstance(criterion, DistinctLDiversity):
        assert measure_distinct_l(result.output, quasi, "病名") >= 3
        assert result.verification.l_distinct["病名"] >= 3
    if isinstance(criterion, TCloseness):
        assert measure_t(result.output, quasi, "病名", data["病名"]) <= 0.3 + 1e-9


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
def test_numeric_sensitive_values_use_the_ordered_distance(algorithm):
    data = people(rows=800)
    definition = people_definition().with_column("購入額", ColumnSpec(ColumnKind.SENSITIVE))
    config = Config((KAnonymity(4), TCloseness("購入額", 0.15)), algorithm=algorithm)
    result = anonymize(data, definition, people_hierarchies(data), config)
    quasi = ["年齢", "性別", "住所"]
    measured = measure_t(result.output, quasi, "購入額", data["購入額"])
    assert measured <= 0.15 + 1e-9
    assert result.verification.t["購入額"] == pytest.approx(measured, abs=1e-6)


def test_impossible_diversity_is_reported_as_not_reached():
    data = people()
    data["病名"] = "風邪"
    config = Config((KAnonymity(2), DistinctLDiversity("病名", 2)))
    with pytest.raises(KAnonymityNotReached):
        anonymize(data, people_definition(), people_hierarchies(data), config)


def test_auto_runs_both_algorithms_and_keeps_the_better():
    data = people(rows=1000)
    result = anonymize(
        data,
        people_definition(),
        people_hierarchies(data),
        Config((KAnonymity(5),), algorithm=Algorithm.AUTO),
    )
    assert set(result.alternatives) == {"optimal", "mondrian"}
    assert result.metrics.dm == min(u.dm for u in result.alternatives.values())


def test_progress_is_reported_in_stages():
    data = people()
    seen: list[tuple[str, float]] = []
    anonymize(
        data,
        people_definition(),
        people_hierarchies(data),
        Config((KAnonymity(5),)),
        progress=lambda stage, fraction: seen.append((stage, fraction)),
    )
    stages = [stage for stage, _ in seen]
    assert stages[0] == "prepare" and stages[-1] == "report"
    assert all(0.0 <= fraction <= 1.0 for _, fraction in seen)


def test_public_report_states_the_class_and_omits_the_processing_method():
    data = people()
    result = anonymize(
        data, people_definition(), people_hierarchies(data), Config((KAnonymity(5),))
    )
    public = json.dumps(result.report.to_dict(), ensure_ascii=False)
    assert "匿名加工情報" in result.report.statement_ja
    assert "re-identification" in " ".join(result.report.prohibitions)
    assert {c.column for c in result.report.categories} == set(result.output.columns)
    labels = {c.column: c.label for c in result.report.categories}
    assert labels["住所"].startswith("住所") and "municipality" in labels["住所"]
    assert "transformation" not in public and "hierarchy_heights" not in public
    record = json.loads(result.method_record.to_json())
    assert record["confidential"] is True
    assert record["deleted_columns"] == ["氏名", "マイナンバー", "会員ID"]
