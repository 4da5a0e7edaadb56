"""Quality breakdowns stored with datasets, on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session

from market.errors import InvalidRequest
from market.events import InProcessBus
from market.models import Dataset
from market.quality.assess import InvalidSchema, parse_schema
from market.service import Market
from market.settings import Settings
from tests.factories import upload as upload_dataset

CSV = (
    b"sensor,speed,start,end\n"
    b"S001,40,2026-11-01,2026-11-02\n"
    b"S002,-5,2026-11-03,2026-11-02\n"
    b"S003,,2026-11-04,2026-11-05\n"
    b"S004,55,2026-11-05,2026-11-06\n"
)
SCHEMA = {
    "columns": [
        {"name": "sensor", "pattern": "S[0-9]{3}", "description": "sensor id"},
        {"name": "speed", "type": "number", "unit": "km/h", "minimum": 0},
        {"name": "start", "type": "date"},
        {"name": "end", "type": "date"},
    ],
    "rules": ["end >= start"],
}


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    market = Market(settings, bus=InProcessBus()).start()
    yield market
    market.close()


def upload(market: Market, raw: bytes = CSV, schema: dict[str, object] | None = None) -> Dataset:
    seller, _ = market.accounts.register(name="Sensors KK", kind="business")
    return upload_dataset(
        market,
        seller=seller,
        raw=raw,
        title="Traffic",
        category="mobility.traffic",
        data_class="non_personal",
        schema=parse_schema(schema) if schema is not None else None,
    )


def test_an_upload_stores_its_schema_and_the_breakdown_behind_its_score(market: Market) -> None:
    dataset = upload(market, schema=SCHEMA)
    with Session(market.db) as session:
        stored = session.get(Dataset, dataset.id)
    assert stored is not None and stored.quality is not None
    scores = {c["name"]: c["score"] for c in stored.quality["components"]}
    # 1 of 16 cells missing; speed -5 below its minimum (1 of 15 present cells); the second
    # record ends before it starts (1 of 4 checks).
    assert scores["completeness"] == 93.75
    assert scores["validity"] == round(100 * 14 / 15, 2)
    assert scores["consistency"] == 75.0
    assert scores["uniqueness"] == 100.0
    assert (
        stored.quality_score
        == stored.quality["score"]
        == round((20 * 93.75 + 20 * 100 * 14 / 15 + 10 * 75 + 10 * 100) / 60)
    )
    assert stored.data_schema is not None
    assert stored.data_schema["columns"][1] == {
        "name": "speed",
        "type": "number",
        "unit": "km/h",
        "minimum": 0,
    }


def test_an_upload_without_a_schema_is_scored_on_what_needs_no_declaration(market: Market) -> None:
    dataset = upload(market)
    assert dataset.data_schema is None
    assert dataset.quality is not None
    measured = [c["name"] for c in dataset.quality["components"] if c["status"] == "measured"]
    assert measured == ["completeness", "uniqueness"]
    assert dataset.quality_score == round((20 * 93.75 + 10 * 100) / 30)


def test_a_schema_naming_a_column_the_file_lacks_is_refused_and_nothing_is_stored(
    market: Market,
) -> None:
    wrong = {**SCHEMA, "columns": [*SCHEMA["columns"], {"name": "lane", "type": "integer"}]}  # type: ignore[list-item]
    with pytest.raises(InvalidSchema, match=r"schema\.columns\.4\.name: 'lane' is not a column"):
        upload(market, schema=wrong)
    assert market.find(Dataset) == []
    assert list(market.store.objects()) == []


def test_a_rule_comparing_a_date_with_a_number_is_refused_naming_the_rule(market: Market) -> None:
    with pytest.raises(InvalidSchema, match=r"schema\.rules\.1: compares a datetime"):
        upload(market, schema={**SCHEMA, "rules": ["end >= start", "end > speed"]})
    assert market.find(Dataset) == []


def test_a_malformed_schema_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidRequest, match=r"schema\.columns\.0\.type"):
        parse_schema('{"columns": [{"name": "a", "type": "float"}]}')
    with pytest.raises(InvalidRequest, match="invalid schema"):
        parse_schema("{not json")
