"""The detector's findings override the seller's labels; releases are scanned; cells list little."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonymize import (
    Algorithm,
    ColumnKind,
    ColumnSpec,
    Config,
    Definition,
    InfoCategory,
    KAnonymity,
    OverriddenBy,
    OverrideWithoutReason,
    ReleaseBlocked,
    anonymize,
    resolve_definition,
    scan_release,
)
from anonymize.mondrian_labels import MAX_LISTED_VALUES, SET_SEPARATOR

from .factories import PREFECTURE_ADDRESSES, people

DEL, QI, SEN, INS, LNK = (
    ColumnKind.IDENTIFYING,
    ColumnKind.QUASI_IDENTIFYING,
    ColumnKind.SENSITIVE,
    ColumnKind.INSENSITIVE,
    ColumnKind.LINKING,
)


def labels(**kinds: ColumnKind) -> Definition:
    return Definition({name: ColumnSpec(kind) for name, kind in kinds.items()})


def checkups(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "氏名": [f"山田{i}郎" for i in range(rows)],
            "年齢": rng.integers(20, 80, rows).astype(str),
            "性別": rng.choice(["男", "女"], rows),
            "診断": rng.choice(["高血圧", "正常", "糖尿病"], rows),
        }
    )


@pytest.mark.parametrize("label", [SEN, INS])
def test_a_name_labelled_released_is_removed_and_the_override_recorded(label):
    data = checkups()
    resolution = resolve_definition(data, labels(氏名=label, 年齢=QI, 性別=QI, 診断=SEN))
    assert resolution.definition.columns["氏名"] == ColumnSpec(DEL, InfoCategory.NAME)
    [override] = resolution.overrides
    assert (override.column, override.labelled, override.applied) == ("氏名", label, DEL)
    assert override.by == OverriddenBy.DETECTOR and "氏名" in override.finding
    released = anonymize(data, resolution.definition, None, Config((KAnonymity(5),))).output
    assert "氏名" not in released.columns
    assert not released.astype(str).apply(lambda c: c.str.contains("郎")).any().any()


def test_identification_codes_and_linking_ids_are_removed_whatever_their_label():
    data = people(rows=100)
    resolution = resolve_definition(
        data,
        labels(
            氏名=INS, マイナンバー=SEN, 会員ID=QI, 年齢=QI, 性別=QI, 住所=QI, 病名=SEN, 購入額=INS
        ),
    )
    columns = resolution.definition.columns
    assert columns["マイナンバー"] == ColumnSpec(DEL, InfoCategory.MY_NUMBER)
    assert columns["会員ID"] == ColumnSpec(LNK, InfoCategory.INTERNAL_ID)
    assert {o.column for o in resolution.overrides} == {"氏名", "マイナンバー", "会員ID"}
    assert all(o.by == OverriddenBy.DETECTOR for o in resolution.overrides)


def test_releasing_any_other_finding_as_is_needs_a_reason_which_is_recorded():
    data = checkups()
    unexplained = labels(氏名=DEL, 年齢=QI, 性別=QI, 診断=INS)
    with pytest.raises(OverrideWithoutReason) as refused:
        resolve_definition(data, unexplained)
    assert "診断" in str(refused.value) and "高血圧" not in str(refused.value)
    resolution = resolve_definition(data, unexplained, {"診断": "published statistics only"})
    [override] = resolution.overrides
    assert override.by == OverriddenBy.SELLER and override.reason == "published statistics only"
    assert resolution.definition.columns["診断"].kind == INS


def test_addresses_and_dates_labelled_released_are_generalized_to_their_floor():
    data = people(rows=100).drop(columns=["マイナンバー", "会員ID"])
    data["受診日"] = [f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(data))]
    resolution = resolve_definition(
        data, labels(氏名=DEL, 年齢=QI, 性別=QI, 住所=INS, 病名=SEN, 購入額=INS, 受診日=SEN)
    )
    columns = resolution.definition.columns
    assert columns["住所"] == ColumnSpec(QI, InfoCategory.ADDRESS)
    assert columns["受診日"] == ColumnSpec(QI, InfoCategory.DATE)
    config = Config((KAnonymity(5),), algorithm=Algorithm.MONDRIAN)
    released = anonymize(data, resolution.definition, None, config).output
    assert not set(released["住所"]) & set(PREFECTURE_ADDRESSES)
    assert all(len(label) <= 4 or label == "*" for label in released["受診日"])


def test_dates_are_released_at_the_year_or_coarser():
    rows = 600
    data = pd.DataFrame(
        {
            "生年月日": [f"19{60 + i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
            "性別": ["男", "女"] * (rows // 2),
        }
    )
    definition = Definition(
        {"生年月日": ColumnSpec(QI, InfoCategory.BIRTH_DATE), "性別": ColumnSpec(QI)}
    )
    for algorithm in (Algorithm.OPTIMAL, Algorithm.MONDRIAN):
        config = Config((KAnonymity(5),), algorithm=algorithm)
        released = anonymize(data, definition, None, config).output["生年月日"]
        assert set(released) <= {"1960", "1961", "1962", "1960-1969", "*"}, algorithm


def test_a_category_without_hierarchy_lists_at_most_a_few_values():
    rows = 240
    data = pd.DataFrame(
        {
            "colour": [f"c{i % 8}" for i in range(rows)],
            "shape": [f"s{(i * 7) % 5}" for i in range(rows)],
        }
    )
    config = Config((KAnonymity(20),), algorithm=Algorithm.MONDRIAN)
    released = anonymize(data, labels(colour=QI, shape=QI), None, config).output
    for column in ("colour", "shape"):
        for label in set(released[column]):
            assert label == "*" or len(label.split(SET_SEPARATOR)) <= MAX_LISTED_VALUES, label


def test_a_release_holding_identifiers_is_blocked_with_column_and_finding():
    clean = pd.DataFrame({"年齢": ["20-29"] * 10, "memo": ["-"] * 10})
    scan_release(clean)
    leaking = clean.assign(memo=[f"user{i}@example.jp" for i in range(10)])
    with pytest.raises(ReleaseBlocked) as blocked:
        scan_release(leaking)
    assert blocked.value.findings == [("memo", "100% of sampled values are e-mail addresses")]
    assert "memo" in str(blocked.value) and "example.jp" not in str(blocked.value)


def test_free_text_and_dates_are_found_by_their_values_and_never_listed():
    rows = 120
    data = pd.DataFrame(
        {
            "col_a": [
                f"受診時に体調不良を訴え、経過観察とした。記録番号 {i:04d} 番" for i in range(rows)
            ],
            "col_b": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(rows)],
            "性別": ["男", "女"] * (rows // 2),
        }
    )
    reasons = {"col_a": "kept as a column for the schema"}
    resolution = resolve_definition(data, labels(col_a=QI, col_b=QI, 性別=QI), reasons)
    columns = resolution.definition.columns
    assert columns["col_a"].category == InfoCategory.FREE_TEXT
    assert columns["col_b"].category == InfoCategory.DATE
    config = Config((KAnonymity(5),), algorithm=Algorithm.MONDRIAN)
    released = anonymize(data, resolution.definition, None, config).output
    assert set(released["col_a"]) == {"*"}
    assert set(released["col_b"]) <= {"2024", "2020-2029", "*"}
