"""Record categories: typed schemas, 要配慮 marks, refusals that name fields and never values."""

import pytest

from market.personal.categories import (
    CATEGORIES,
    SENSITIVE,
    RecordInvalid,
    UnknownCategory,
    validate_record,
)


def test_health_and_medical_history_are_the_special_care_categories() -> None:
    assert {"health_checkup", "medical_history"} == SENSITIVE


def test_a_valid_checkup_is_returned_in_canonical_form() -> None:
    record = validate_record(
        "health_checkup", {"checked_on": "2026-04-01", "systolic_bp": "128", "hba1c_percent": 5.6}
    )
    assert record == {"checked_on": "2026-04-01", "systolic_bp": 128, "hba1c_percent": 5.6}


def test_an_unknown_field_is_refused_by_name_without_echoing_the_value() -> None:
    with pytest.raises(RecordInvalid) as refused:
        validate_record(
            "profile", {"family_name": "山田", "given_name": "花子", "mynumber": "1234"}
        )
    assert "mynumber" in str(refused.value)
    assert "1234" not in str(refused.value) and "山田" not in str(refused.value)


def test_location_points_need_an_aware_time_and_a_real_latitude() -> None:
    with pytest.raises(RecordInvalid, match="latitude"):
        validate_record(
            "location_history",
            {"recorded_at": "2026-05-01T09:00:00+09:00", "latitude": 95, "longitude": 139.7},
        )
    with pytest.raises(RecordInvalid, match="recorded_at"):
        validate_record(
            "location_history",
            {"recorded_at": "2026-05-01T09:00:00", "latitude": 35.6, "longitude": 139.7},
        )


def test_unknown_category_lists_the_known_ones() -> None:
    with pytest.raises(UnknownCategory, match="purchase_history"):
        validate_record("genome", {})


def test_every_category_has_both_labels() -> None:
    for code, category in CATEGORIES.items():
        assert category.code == code and category.ja and category.en
