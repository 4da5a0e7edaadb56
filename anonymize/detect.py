"""Proposes a column definition from column names and values; the seller confirms or edits it.

Names are matched in kanji, kana and romaji after normalization (全角 -> 半角, lower case).
Values are sampled and matched against the formats of identification codes (個人識別符号:
My Number with its check digit, passport, basic pension), e-mail, phone numbers, addresses
and dates; long, mostly distinct values are free text. Corporate numbers (13 digits with a check
digit) identify companies, not people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from anonymize.definition import (
    FLOORS,
    IDENTIFIERS,
    ColumnKind,
    ColumnSpec,
    Definition,
    InfoCategory,
)
from anonymize.geography import split_address
from anonymize.idcodes import digits_only, is_corporate_number, is_my_number, normalize

QI = ColumnKind.QUASI_IDENTIFYING
ID = ColumnKind.IDENTIFYING
#: Free text: values at least this long (median, in characters) and mostly distinct.
FREE_TEXT_LENGTH = 30

# (category, kind, name keywords): order matters, more specific first.
_NAME_RULES: tuple[tuple[InfoCategory, ColumnKind, tuple[str, ...]], ...] = (
    (InfoCategory.MY_NUMBER, ID, ("マイナンバー", "個人番号", "mynumber", "kojinbango")),
    (InfoCategory.PASSPORT, ID, ("旅券", "パスポート", "passport")),
    (
        InfoCategory.DRIVERS_LICENCE,
        ID,
        ("運転免許", "免許証", "driverslicen", "licence", "license"),
    ),
    (InfoCategory.HEALTH_INSURANCE, ID, ("保険者番号", "被保険者", "保険証", "healthinsurance")),
    (InfoCategory.BASIC_PENSION, ID, ("基礎年金", "年金番号", "pension")),
    (InfoCategory.OTHER, ColumnKind.INSENSITIVE, ("法人番号", "corporatenumber", "houjinbangou")),
    (InfoCategory.EMAIL, ID, ("メール", "email", "mail")),
    (InfoCategory.PHONE, ID, ("電話", "携帯", "phone", "tel", "mobile", "denwa", "fax")),
    (InfoCategory.BIRTH_DATE, QI, ("生年月日", "誕生日", "birth", "dob", "seinengappi")),
    (InfoCategory.DATE, QI, ("年月日", "日付", "date", "hiduke")),
    (InfoCategory.ADDRESS, QI, ("住所", "所在地", "address", "addr", "jusho", "juusho")),
    (InfoCategory.ADDRESS, QI, ("都道府県", "prefecture", "todofuken")),
    (
        InfoCategory.NAME,
        ID,
        (
            "氏名",
            "名前",
            "姓名",
            "フリガナ",
            "ふりがな",
            "シメイ",
            "name",
            "shimei",
            "namae",
            "苗字",
            "名字",
        ),
    ),
    (InfoCategory.AGE, QI, ("年齢", "age", "nenrei")),
    (InfoCategory.GENDER, QI, ("性別", "gender", "sex", "seibetsu")),
    (
        InfoCategory.OTHER,
        ColumnKind.SENSITIVE,
        (
            "病名",
            "病歴",
            "疾病",
            "疾患",
            "診断",
            "disease",
            "diagnosis",
            "medical",
            "年収",
            "income",
            "salary",
        ),
    ),
    (
        InfoCategory.INTERNAL_ID,
        ColumnKind.LINKING,
        (
            "会員番号",
            "顧客番号",
            "会員id",
            "顧客id",
            "社員番号",
            "userid",
            "memberid",
            "customerid",
            "id",
            "uuid",
        ),
    ),
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^(\+81|0)\d{9,10}$")
_PASSPORT = re.compile(r"^[A-Z]{2}\d{7}$")
_PENSION = re.compile(r"^\d{4}-?\d{6}$")
_KANA_NAME = re.compile(r"^[ァ-ヶー]+[ 　][ァ-ヶー]+$")
_KANJI_NAME = re.compile(r"^[一-龥々]{1,4}[ 　][一-龥々ぁ-んァ-ヶ]{1,4}$")
_ROMAJI_NAME = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+$")
_DATE = re.compile(r"^(19|20)\d{2}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])$")
_TOKEN = re.compile(r"[a-z]+|[^a-z0-9_\-\s]+")


@dataclass(frozen=True)
class ColumnProposal:
    """The proposed spec of one column and why."""

    column: str
    spec: ColumnSpec
    reason: str
    found: bool = True


@dataclass(frozen=True)
class DefinitionProposal:
    """A proposed definition for the seller to confirm or edit, with a reason per column."""

    definition: Definition
    columns: tuple[ColumnProposal, ...]

    def reason(self, column: str) -> str:
        """Why a column got its proposed kind."""
        return next(p.reason for p in self.columns if p.column == column)


def _name_matches(name: str, keyword: str) -> bool:
    text = normalize(name).lower().replace(" ", "").replace("_", "").replace("-", "")
    if keyword.isascii() and len(keyword) <= 4:
        # Short romaji keywords (id, tel, age, sex) must be whole words, not substrings.
        tokens = _TOKEN.findall(normalize(name).lower())
        return keyword in tokens or text == keyword
    return keyword in text


def _by_name(name: str) -> tuple[InfoCategory, ColumnKind, str] | None:
    for category, kind, keywords in _NAME_RULES:
        for keyword in keywords:
            if _name_matches(name, keyword):
                return category, kind, f"column name matches {keyword!r}"
    return None


def _share(values: list[str], test: object) -> float:
    assert callable(test)
    return sum(1 for value in values if test(value)) / len(values)


def scan_values(values: list[str]) -> tuple[InfoCategory, ColumnKind, str] | None:
    """Category, kind and finding when at least 80% of the values share a personal format."""
    if not values:
        return None
    normalized = [normalize(v) for v in values]
    checks: tuple[tuple[InfoCategory, ColumnKind, str, object], ...] = (
        (
            InfoCategory.OTHER,
            ColumnKind.INSENSITIVE,
            "corporate numbers (法人番号)",
            is_corporate_number,
        ),
        (InfoCategory.MY_NUMBER, ID, "My Numbers with valid check digits", is_my_number),
        (InfoCategory.EMAIL, ID, "e-mail addresses", _EMAIL.match),
        (InfoCategory.PHONE, ID, "phone numbers", lambda v: bool(_PHONE.match(digits_only(v)))),
        (InfoCategory.PASSPORT, ID, "passport numbers", _PASSPORT.match),
        (InfoCategory.BASIC_PENSION, ID, "basic pension numbers", _PENSION.match),
        (InfoCategory.NAME, ID, "names in katakana", _KANA_NAME.match),
        (InfoCategory.ADDRESS, QI, "Japanese addresses", lambda v: split_address(v) is not None),
    )
    for category, kind, label, test in checks:
        share = _share(normalized, test)
        if share >= 0.8:
            return category, kind, f"{share:.0%} of sampled values are {label}"
    # Names are told from place names or labels by being mostly distinct.
    if len(set(normalized)) >= 0.5 * len(normalized):
        for label, pattern in (("names in kanji", _KANJI_NAME), ("names in romaji", _ROMAJI_NAME)):
            share = _share(normalized, pattern.match)
            if share >= 0.8:
                return InfoCategory.NAME, ID, f"{share:.0%} of sampled values are {label}"
        lengths = sorted(len(v) for v in normalized)
        if lengths[len(lengths) // 2] >= FREE_TEXT_LENGTH:
            return InfoCategory.FREE_TEXT, ID, "values are long, mostly distinct free text"
    if _share(normalized, _DATE.match) >= 0.8:
        return InfoCategory.DATE, QI, "values are dates"
    return None


def _spec(category: InfoCategory, kind: ColumnKind) -> ColumnSpec:
    return ColumnSpec(kind, category, FLOORS.get(category, 0) if kind == QI else 0)


def detect_definition(data: pd.DataFrame, sample: int = 500, seed: int = 0) -> DefinitionProposal:
    """Propose a definition: values decide for identification codes, names for the rest."""
    proposals = []
    for column in data.columns:
        series = data[column].dropna()
        drawn = series.sample(min(4 * sample, len(series)), random_state=seed).astype(str)
        values = [v for v in drawn.tolist() if v.strip()][:sample]
        by_values = scan_values(values)
        by_name = _by_name(str(column))
        # Values win when they prove an identifier or rule one out (法人番号).
        decisive = by_values is not None and (
            by_values[0] in IDENTIFIERS or by_values[1] == ColumnKind.INSENSITIVE
        )
        chosen = by_values if decisive or by_name is None else by_name
        if chosen is None:
            proposal = ColumnProposal(
                str(column),
                ColumnSpec(ColumnKind.INSENSITIVE),
                "no personal-data pattern found; confirm it is not a quasi-identifier",
                found=False,
            )
        else:
            category, kind, reason = chosen
            if by_name and by_name[0] == InfoCategory.ADDRESS and category == InfoCategory.ADDRESS:
                reason = by_name[2]
            proposal = ColumnProposal(str(column), _spec(category, kind), reason)
        proposals.append(proposal)
    definition = Definition({p.column: p.spec for p in proposals})
    return DefinitionProposal(definition, tuple(proposals))
