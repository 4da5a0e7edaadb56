"""The public processing report and the confidential record of the processing method.

APPI art. 43(3)-(4) (formerly 36): at creation and at provision the business announces the
categories of personal information in the 匿名加工情報 and the method of provision, and tells
the recipient that the data is 匿名加工情報. Art. 43(2) requires the processing method
(加工方法等情報) to be kept secure: it is a separate object, never part of the public report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from anonymize.steps import AppliedStep

STATEMENT_JA = (
    "本データは個人情報の保護に関する法律に基づく匿名加工情報です。"
    "受領者は、本人を識別するために、加工の方法に関する情報を取得し、"
    "又は本データを他の情報と照合してはなりません（法第45条）。"
)
STATEMENT_EN = (
    "This data is anonymously processed information (匿名加工情報) under the Act on the "
    "Protection of Personal Information. The recipient must not obtain information on the "
    "processing method, nor collate this data with other information, in order to identify "
    "any person (Art. 45)."
)
PROHIBITIONS = (
    "再識別の禁止 / no re-identification of any person",
    "照合の禁止 / no collation with other information to identify a person",
    "加工方法等情報の取得の禁止 / no obtaining of the processing method",
)
#: Public wording of each information category, Japanese then English.
CATEGORY_LABELS = {
    "name": "氏名 / name",
    "address": "住所（市区町村以上に一般化）/ address, generalized to municipality or coarser",
    "phone": "電話番号 / phone number",
    "email": "メールアドレス / e-mail address",
    "birth_date": "生年月日（年以上に一般化）/ birth date, generalized to year or coarser",
    "date": "日付（年以上に一般化）/ date, generalized to year or coarser",
    "free_text": "自由記述 / free text",
    "age": "年齢 / age",
    "gender": "性別 / gender",
    "internal_id": "連結不能な識別子 / unlinkable identifier",
    "other": "その他の項目 / other item",
}

DEFAULT_PROVISION = (
    "データ取引市場を通じた電子ファイル（CSV）の提供 / "
    "electronic file (CSV) delivered through the data market"
)


@dataclass(frozen=True)
class ColumnCategory:
    """One released item: its column, the category of personal information, its treatment."""

    column: str
    category: str
    label: str
    treatment: str


@dataclass(frozen=True)
class ProcessingReport:
    """What is published with the listing: categories, provision method, statement, figures."""

    categories: tuple[ColumnCategory, ...]
    provision_method: str
    steps: tuple[AppliedStep, ...]
    algorithm: str
    privacy: dict[str, object]
    utility: dict[str, float]
    risk: dict[str, float]
    statement_ja: str = STATEMENT_JA
    statement_en: str = STATEMENT_EN
    prohibitions: tuple[str, ...] = PROHIBITIONS
    data_class: str = "anonymized"

    def to_dict(self) -> dict[str, object]:
        """Plain dict, JSON-ready."""
        return {
            "data_class": self.data_class,
            "statement": {"ja": self.statement_ja, "en": self.statement_en},
            "prohibitions": list(self.prohibitions),
            "categories": [vars(c) for c in self.categories],
            "provision_method": self.provision_method,
            "algorithm": self.algorithm,
            "steps": [s.to_dict() for s in self.steps],
            "privacy": self.privacy,
            "utility": self.utility,
            "risk": self.risk,
        }


@dataclass(frozen=True)
class ProcessingMethodRecord:
    """加工方法等情報: how the data was processed. Confidential; the market stores it encrypted."""

    algorithm: str
    deleted_columns: tuple[str, ...]
    replaced_columns: tuple[str, ...]
    quasi_identifiers: tuple[str, ...]
    transformation: dict[str, int] | None
    hierarchy_heights: dict[str, int]
    criteria: tuple[str, ...]
    suppression_limit: float
    suppressed_rows: int
    top_coding: dict[str, float] = field(default_factory=dict)
    bottom_coding: dict[str, float] = field(default_factory=dict)
    confidential: bool = True

    def to_json(self) -> str:
        """Serialized form for the market to encrypt at rest; never publish it."""
        return json.dumps(vars(self), ensure_ascii=False, sort_keys=True)
