"""Personal record categories: one typed, flat schema each (flat so that a CSV row can carry it).

`sensitive` marks 要配慮個人情報 (APPI art. 2(3); Cabinet Order art. 2: medical history and the
results of health checkups are special-care-required). Documented in docs/personal-data.md.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError


class RecordSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Profile(RecordSchema):
    family_name: str = Field(min_length=1, max_length=100)
    given_name: str = Field(min_length=1, max_length=100)
    birth_date: date | None = None
    gender: Literal["female", "male", "other", "undisclosed"] = "undisclosed"
    prefecture: str | None = Field(default=None, max_length=20)
    postal_code: str | None = Field(default=None, pattern=r"^\d{3}-?\d{4}$")


class LocationPoint(RecordSchema):
    recorded_at: AwareDatetime
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: int | None = Field(default=None, ge=0)
    place_name: str | None = Field(default=None, max_length=200)


class Purchase(RecordSchema):
    purchased_at: AwareDatetime
    merchant: str = Field(min_length=1, max_length=200)
    item: str = Field(min_length=1, max_length=200)
    item_category: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=1)
    amount_yen: int = Field(ge=0)


class HealthCheckup(RecordSchema):
    checked_on: date
    height_cm: float | None = Field(default=None, gt=0, lt=300)
    weight_kg: float | None = Field(default=None, gt=0, lt=500)
    systolic_bp: int | None = Field(default=None, gt=0, lt=300)
    diastolic_bp: int | None = Field(default=None, gt=0, lt=300)
    hba1c_percent: float | None = Field(default=None, gt=0, lt=20)
    ldl_mg_dl: int | None = Field(default=None, gt=0, lt=1000)
    findings: str | None = Field(default=None, max_length=1000)


class MedicalHistory(RecordSchema):
    diagnosed_on: date
    icd10: str = Field(pattern=r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
    status: Literal["ongoing", "resolved"] = "ongoing"
    note: str | None = Field(default=None, max_length=1000)


class FitnessActivity(RecordSchema):
    recorded_on: date
    steps: int = Field(ge=0)
    active_minutes: int | None = Field(default=None, ge=0, le=1440)
    sleep_minutes: int | None = Field(default=None, ge=0, le=1440)


@dataclass(frozen=True)
class Category:
    code: str
    schema: type[RecordSchema]
    sensitive: bool
    ja: str
    en: str


CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("profile", Profile, False, "基本属性", "profile"),
        Category("location_history", LocationPoint, False, "位置情報履歴", "location history"),
        Category("purchase_history", Purchase, False, "購買履歴", "purchase history"),
        Category("health_checkup", HealthCheckup, True, "健康診断結果", "health checkup results"),
        Category("medical_history", MedicalHistory, True, "病歴", "medical history"),
        Category("fitness_activity", FitnessActivity, False, "活動量", "fitness activity"),
    )
}
SENSITIVE: frozenset[str] = frozenset(c.code for c in CATEGORIES.values() if c.sensitive)


class UnknownCategory(ValueError):
    """A record category that the market has no schema for."""


class RecordInvalid(ValueError):
    """A record that does not fit its category's schema; names fields, never values."""


def category(code: str) -> Category:
    if code not in CATEGORIES:
        raise UnknownCategory(
            f"unknown record category {code!r}: use one of {', '.join(CATEGORIES)} "
            "(GET /categories)"
        )
    return CATEGORIES[code]


def validate_record(code: str, data: dict[str, Any]) -> dict[str, Any]:
    """The record checked against its category's schema, in its canonical JSON form."""
    schema = category(code).schema
    try:
        return schema.model_validate(data).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(record)'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        )
        raise RecordInvalid(f"a {code} record must fit its schema: {problems}") from None


def require_categories(codes: list[str] | frozenset[str]) -> frozenset[str]:
    for code in codes:
        category(code)
    return frozenset(codes)
