"""Quality over HTTP: a column dictionary on upload, the breakdown, and listings that show it."""

import json

import httpx

from tests.e2e.test_anonymization_flow import SPEC, checkup_csv, wait_for
from tests.e2e.test_market_slice import PROBLEM, auth, register, upload

CSV = (
    "地点,台数,開始,終了\n"
    "新宿,120,2026-11-01,2026-11-02\n"
    "渋谷,98,2026-11-03,2026-11-02\n"
    "池袋,,2026-11-04,2026-11-05\n"
    "品川,-3,2026-11-05,2026-11-06\n"
).encode()
SCHEMA = {
    "columns": [
        {"name": "地点", "codes": ["新宿", "渋谷", "池袋", "品川"], "description": "観測地点"},
        {"name": "台数", "type": "integer", "unit": "台/時", "minimum": 0},
        {"name": "開始", "type": "date"},
        {"name": "終了", "type": "date"},
    ],
    "rules": ["終了 >= 開始"],
}


def test_a_declared_upload_shows_its_quality_to_whoever_may_see_the_dataset(
    http: httpx.Client,
) -> None:
    seller = register(http, "東都センサー")
    outsider = register(http, "Someone else")
    created = upload(http, seller, CSV, schema=json.dumps(SCHEMA))
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert dataset["data_schema"]["columns"][1]["unit"] == "台/時"
    assert dataset["quality"]["score"] == dataset["quality_score"]

    quality = http.get(f"/datasets/{dataset['id']}/quality", headers=auth(seller))
    assert quality.status_code == 200, quality.text
    components = {c["name"]: c for c in quality.json()["components"]}
    assert components["completeness"]["score"] == 93.75
    assert components["validity"]["details"]["by_column"]["台数"]["range"] == 1
    assert components["consistency"]["score"] == 75.0
    assert components["currentness"]["status"] == "not_measured"
    assert not any(place in quality.text for place in ("新宿", "渋谷", "池袋", "品川"))

    # Unlisted, the dataset and its quality are the seller's alone.
    hidden = http.get(f"/datasets/{dataset['id']}/quality", headers=auth(outsider))
    assert hidden.status_code == 404
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset["id"],
            "price_yen": 5_000,
            "licence_count": 3,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    shown = listing.json()["quality"]
    assert shown["score"] == dataset["quality_score"]
    assert [c["name"] for c in shown["components"]][:2] == ["completeness", "validity"]
    assert "details" not in shown["components"][0]
    seen = http.get(f"/datasets/{dataset['id']}/quality", headers=auth(outsider))
    assert seen.status_code == 200
    assert seen.json()["score"] == dataset["quality_score"]
    listed = http.get(f"/listings/{listing.json()['id']}", headers=auth(outsider)).json()
    assert listed["quality"]["components"] == shown["components"]


def test_a_bad_schema_is_a_422_naming_the_field_and_nothing_is_stored(http: httpx.Client) -> None:
    seller = register(http, "Sensors KK")
    cases = {
        json.dumps({"columns": [{"name": "台数", "type": "float"}]}): "schema.columns.0.type",
        json.dumps({"rules": ["終了 >="]}): "schema.rules.0",
        json.dumps({"columns": [{"name": "lane"}]}): "schema.columns.0.name",
        json.dumps({"rules": ["終了 > 台数"]}): "schema.rules.0",
        "{not json": "schema",
    }
    for schema, field in cases.items():
        refused = upload(http, seller, CSV, schema=schema)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert field in refused.json()["detail"]
    assert http.get("/datasets", headers=auth(seller)).json() == []


def test_anonymized_output_is_scored_with_privacy_and_utility_from_its_report(
    http: httpx.Client,
) -> None:
    seller = register(http, "Clinic KK")
    source = upload(
        http, seller, checkup_csv(), data_class="personal", category="healthcare.checkup"
    )
    assert source.status_code == 201, source.text
    started = http.post(
        "/anonymization-jobs",
        headers=auth(seller),
        json={"dataset_id": source.json()["id"], "spec": SPEC},
    )
    job = wait_for(http, seller, started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    dataset_id = job["result_dataset_id"]
    quality = http.get(f"/datasets/{dataset_id}/quality", headers=auth(seller)).json()
    report = http.get(f"/datasets/{dataset_id}", headers=auth(seller)).json()["public_report"]
    components = {c["name"]: c for c in quality["components"]}
    k, l_min = report["privacy"]["k"], min(report["privacy"]["l_distinct"].values())
    assert components["privacy"]["score"] == round(100 * min(1 - 1 / k, 1 - 1 / l_min), 2)
    assert components["utility"]["score"] == round(100 * (1 - report["utility"]["ncp"]), 2)
    assert components["uniqueness"]["status"] == "not_measured"
