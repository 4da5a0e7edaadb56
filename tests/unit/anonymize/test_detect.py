"""The detector proposes kinds from names and values; check digits decide ID codes."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymize import ColumnKind, InfoCategory, detect_definition
from anonymize.idcodes import is_corporate_number, is_my_number, normalize


def column(values: list[str], times: int = 10) -> list[str]:
    return values * times


@pytest.mark.parametrize(
    "value", ["123456789018", "１２３４５６７８９０１８", "1234 5678 9018", "1234-5678-9018"]
)
def test_my_number_with_valid_check_digit_is_recognized_after_normalization(value):
    assert is_my_number(value)


@pytest.mark.parametrize("value", ["123456789012", "12345678901", "abcdefghijkl"])
def test_my_number_with_wrong_check_digit_or_shape_is_rejected(value):
    assert not is_my_number(value)


def test_corporate_number_check_digit():
    assert is_corporate_number("7000012050002")
    assert not is_corporate_number("1000012050002")


def test_full_width_letters_and_digits_are_normalized():
    assert normalize("ＡＢＣ１２３") == "ABC123"


def test_detector_proposes_kinds_from_japanese_english_and_romaji_names():
    data = pd.DataFrame(
        {
            "氏名": column(["山田 太郎", "鈴木 花子"]),
            "shimei_kana": column(["ヤマダ タロウ", "スズキ ハナコ"]),
            "Jusho": column(["東京都千代田区千代田1-1", "大阪府大阪市北区梅田1"]),
            "生年月日": column(["1980-01-02", "1975/12/31"]),
            "年齢": column(["30", "41"]),
            "gender": column(["F", "M"]),
            "病名": column(["風邪", "骨折"]),
            "会員ID": column(["A1", "A2"]),
            "notes": column(["x", "y"]),
        }
    )
    proposal = detect_definition(data).definition.columns
    assert proposal["氏名"].kind == ColumnKind.IDENTIFYING
    assert proposal["shimei_kana"].kind == ColumnKind.IDENTIFYING
    assert proposal["Jusho"].kind == ColumnKind.QUASI_IDENTIFYING
    assert proposal["Jusho"].category == InfoCategory.ADDRESS and proposal["Jusho"].min_level == 1
    assert proposal["生年月日"].category == InfoCategory.BIRTH_DATE
    assert proposal["生年月日"].min_level == 2
    assert proposal["年齢"].kind == ColumnKind.QUASI_IDENTIFYING
    assert proposal["gender"].kind == ColumnKind.QUASI_IDENTIFYING
    assert proposal["病名"].kind == ColumnKind.SENSITIVE
    assert proposal["会員ID"].kind == ColumnKind.LINKING
    assert proposal["notes"].kind == ColumnKind.INSENSITIVE


def test_values_reveal_identification_codes_under_neutral_names():
    data = pd.DataFrame(
        {
            "col_a": column(["１２３４５６７８９０１８", "123456789018"]),
            "col_b": column(["taro@example.jp", "hanako@example.com"]),
            "col_c": column(["03-1234-5678", "090-1234-5678"]),
            "col_d": column(["TK1234567", "TR7654321"]),
            "col_e": column(["1234-567890", "9876-543210"]),
        }
    )
    result = detect_definition(data)
    categories = {name: spec.category for name, spec in result.definition.columns.items()}
    assert categories == {
        "col_a": InfoCategory.MY_NUMBER,
        "col_b": InfoCategory.EMAIL,
        "col_c": InfoCategory.PHONE,
        "col_d": InfoCategory.PASSPORT,
        "col_e": InfoCategory.BASIC_PENSION,
    }
    assert all(spec.kind == ColumnKind.IDENTIFYING for spec in result.definition.columns.values())
    assert "check digit" in result.reason("col_a")


def test_corporate_numbers_are_not_personal():
    data = pd.DataFrame({"取引先番号": column(["7000012050002", "8000012010038"])})
    spec = detect_definition(data).definition.columns["取引先番号"]
    assert spec.kind == ColumnKind.INSENSITIVE


def test_seller_can_edit_the_proposal():
    data = pd.DataFrame({"notes": column(["x", "y"])})
    proposal = detect_definition(data).definition
    from anonymize import ColumnSpec

    edited = proposal.with_column("notes", ColumnSpec(ColumnKind.QUASI_IDENTIFYING))
    assert edited.quasi_identifiers == ["notes"]


def test_names_in_kanji_and_romaji_are_found_by_value():
    kanji = [
        f"{family} {given}"
        for family in ("山田", "佐藤", "鈴木", "高橋")
        for given in ("太郎", "花子", "一郎", "陽子", "健")
    ]
    romaji = [
        f"{family} {given}"
        for family in ("Yamada", "Sato", "Suzuki", "Takahashi")
        for given in ("Taro", "Hanako", "Ichiro", "Yoko", "Ken")
    ]
    data = pd.DataFrame(
        {"col_k": kanji, "col_r": romaji, "city": ["New York"] * 10 + ["San Jose"] * 10}
    )
    proposal = detect_definition(data).definition.columns
    assert proposal["col_k"].category == InfoCategory.NAME
    assert proposal["col_r"].category == InfoCategory.NAME
    assert proposal["city"].kind == ColumnKind.INSENSITIVE


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("paid", ColumnKind.INSENSITIVE),
        ("userid", ColumnKind.LINKING),
        ("order_id", ColumnKind.LINKING),
    ],
)
def test_short_keywords_match_whole_words_only(name, kind):
    data = pd.DataFrame({name: column(["x", "y"])})
    assert detect_definition(data).definition.columns[name].kind == kind
