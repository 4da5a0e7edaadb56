"""A Japanese seller table from upload to release: detect, confirm, anonymize."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonymize import (
    Algorithm,
    ColumnKind,
    Config,
    KAnonymity,
    anonymize,
    date_hierarchy,
    detect_definition,
    geography_hierarchy,
)
from anonymize.tables import read_table

from .factories import PREFECTURE_ADDRESSES


def seller_table(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    born = pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 20_000, rows), "D")
    return pd.DataFrame(
        {
            "氏名": [f"佐藤 {i}" for i in range(rows)],
            "個人番号": ["１２３４５６７８９０１８"] * rows,
            "住所": rng.choice(PREFECTURE_ADDRESSES, rows),
            "生年月日": born.strftime("%Y-%m-%d"),
            "性別": rng.choice(["男", "女"], rows),
            "購入回数": rng.integers(1, 30, rows).astype(str),
        }
    )


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
def test_detected_definition_drives_a_release_cut_to_municipality_and_year_month(algorithm):
    data = seller_table()
    definition = detect_definition(data).definition
    assert definition.columns["個人番号"].kind == ColumnKind.IDENTIFYING
    hierarchies = {
        "住所": geography_hierarchy(data["住所"]),
        "生年月日": date_hierarchy(data["生年月日"]),
    }
    result = anonymize(data, definition, hierarchies, Config((KAnonymity(5),), algorithm=algorithm))
    released = result.output
    assert {"氏名", "個人番号"}.isdisjoint(released.columns)
    assert not set(released["住所"]) & set(data["住所"])
    assert not set(released["生年月日"]) & set(data["生年月日"])
    coarser = {row[0]: set(row[1:]) for row in hierarchies["生年月日"].rows}
    assert all(
        label in coarser[born]
        for born, label in zip(data["生年月日"], released["生年月日"], strict=True)
    )
    assert result.verification.k >= 5


def test_cp932_upload_reads_the_same_as_utf8(tmp_path):
    data = seller_table(rows=20)
    (tmp_path / "sjis.csv").write_bytes(data.to_csv(index=False).encode("cp932"))
    (tmp_path / "utf8.csv").write_bytes(data.to_csv(index=False).encode("utf-8-sig"))
    pd.testing.assert_frame_equal(
        read_table(tmp_path / "sjis.csv"), read_table(tmp_path / "utf8.csv")
    )


def test_addresses_and_birth_dates_get_default_hierarchies_and_floors():
    from anonymize import ColumnSpec, Definition, InfoCategory

    data = seller_table()
    definition = Definition(
        {
            "氏名": ColumnSpec(ColumnKind.IDENTIFYING, InfoCategory.NAME),
            "個人番号": ColumnSpec(ColumnKind.IDENTIFYING, InfoCategory.MY_NUMBER),
            "住所": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.ADDRESS),
            "生年月日": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.BIRTH_DATE),
            "性別": ColumnSpec(ColumnKind.QUASI_IDENTIFYING, InfoCategory.GENDER),
            "購入回数": ColumnSpec(ColumnKind.INSENSITIVE),
        }
    )
    result = anonymize(
        data, definition, None, Config((KAnonymity(5),), algorithm=Algorithm.MONDRIAN)
    )
    prefectures_or_finer = {label for label in result.output["住所"]}
    assert not prefectures_or_finer & set(data["住所"])
    assert any(
        label.startswith(("東京都", "大阪府", "北海道", "神奈川県", "福岡県"))
        or label in ("関東", "近畿", "北海道", "九州・沖縄", "*")
        for label in prefectures_or_finer
    )
    assert not set(result.output["生年月日"]) & set(data["生年月日"])
    assert "住所>=1" in result.report.steps[0].action
