"""Bulk import: a category's CSV (UTF-8 or cp932) and the portable JSON document."""

import pytest

from market.personal.errors import RecordRejected
from market.personal.records import PORTABLE_FORMAT, parse_csv, parse_portable, prepare


def test_csv_rows_become_records_of_one_category_in_cp932_too() -> None:
    raw = "purchased_at,merchant,item,amount_yen\n2026-05-01T10:00:00+09:00,コンビニ,おにぎり,150\n"
    for encoded in (raw.encode(), raw.encode("cp932")):
        items = parse_csv("purchase_history", encoded)
        [record] = prepare(items)
        assert record.category == "purchase_history" and not record.sensitive
        assert "おにぎり".encode() in record.blob


def test_empty_cells_are_absent_fields() -> None:
    raw = b"checked_on,systolic_bp,findings\n2026-04-01,120,\n"
    assert parse_csv("health_checkup", raw) == [
        ("health_checkup", {"checked_on": "2026-04-01", "systolic_bp": "120"})
    ]


def test_a_ragged_csv_line_is_refused() -> None:
    with pytest.raises(RecordRejected, match="line 2"):
        parse_csv("profile", b"family_name,given_name\nA,B,C\n")


def test_the_portable_document_carries_several_categories() -> None:
    document = {
        "format": PORTABLE_FORMAT,
        "records": [
            {"category": "profile", "data": {"family_name": "山田", "given_name": "花子"}},
            {"category": "fitness_activity", "data": {"recorded_on": "2026-05-01", "steps": 8000}},
        ],
    }
    assert [r.category for r in prepare(parse_portable(document))] == [
        "profile",
        "fitness_activity",
    ]


@pytest.mark.parametrize(
    "document",
    [
        {"records": []},
        {"format": PORTABLE_FORMAT},
        {"format": PORTABLE_FORMAT, "records": [{"category": "profile"}]},
    ],
)
def test_malformed_portable_documents_are_refused(document: dict) -> None:
    with pytest.raises(RecordRejected):
        parse_portable(document)
