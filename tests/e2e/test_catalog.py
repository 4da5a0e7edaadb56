"""The catalog over HTTP: a seller describes a dataset, buyers find it by Japanese and English
search, filter and page, and see the full listing with a preview, its licence and the book."""

import csv
import io
import json

import httpx

from tests.e2e.test_anonymization_flow import SPEC, checkup_csv, wait_for
from tests.e2e.test_market_slice import (
    PROBLEM,
    auth,
    participant_id,
    register,
    register_buyer,
    upload,
)

CSV = (
    "地点,台数,観測日\n"
    "新宿,120,2026-11-01\n"
    "渋谷,98,2026-11-02\n"
    "池袋,77,2026-11-03\n"
    "品川,64,2026-11-04\n"
    "上野,51,2026-11-05\n"
    "秋葉原,43,2026-11-06\n"
).encode()
SCHEMA = {
    "columns": [
        {"name": "地点", "codes": ["新宿", "渋谷", "池袋", "品川", "上野", "秋葉原"]},
        {"name": "台数", "type": "integer", "unit": "台/時", "minimum": 0},
        {"name": "観測日", "type": "date"},
    ]
}
METADATA = {
    "title": "東京都心 交通量 2026",
    "description": "Hourly vehicle counts at central Tokyo intersections",
    "tags": ["交通", "iot"],
    "columns": [
        {"name": "地点", "semantic_tag": "geo.place", "description": "交差点の名前"},
        {"name": "台数", "semantic_tag": "measure.vehicles_per_hour"},
    ],
    "coverage": {
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "geography": ["JP-13"],
    },
    "update_frequency": "daily",
    "licence": {"template": "dm-research-1.0", "custom_terms": ["Cite the data market"]},
}


def _list(http: httpx.Client, seller: str, dataset_id: str, price: int) -> dict:  # type: ignore[type-arg]
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset_id,
            "price_yen": price,
            "licence_count": 3,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    return listing.json()  # type: ignore[no-any-return]


def test_a_described_listing_is_found_and_shown_in_full(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "東都センサー", display_name="Toto Sensors")
    buyer = register_buyer(http, operator_key, "Buyer Lab", recipient_category="research")
    created = upload(http, seller, CSV, schema=json.dumps(SCHEMA))
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    other = upload(http, seller, CSV, title="Weather Osaka", category="environment.weather")
    listing = _list(http, seller, dataset_id, 5_000)
    _list(http, seller, other.json()["id"], 900)

    described = http.put(f"/datasets/{dataset_id}/metadata", headers=auth(seller), json=METADATA)
    assert described.status_code == 200, described.text
    assert described.json()["update_frequency"] == "daily"

    def found(**params: str | int) -> list[str]:
        response = http.get("/listings", headers=auth(buyer), params=params)
        assert response.status_code == 200, response.text
        return [item["title"] for item in response.json()]

    assert found(q="東京") == ["東京都心 交通量 2026"]
    assert found(q="交通") == ["東京都心 交通量 2026"]
    assert found(q="ＴＯＫＹＯ intersections") == ["東京都心 交通量 2026"]
    assert found(q="交差点") == ["東京都心 交通量 2026"]
    assert found(q="osaka") == ["Weather Osaka"]
    assert found(tags="iot", update_frequency="daily") == ["東京都心 交通量 2026"]
    assert found(sort="price") == ["Weather Osaka", "東京都心 交通量 2026"]
    assert found(max_price_yen=1_000) == ["Weather Osaka"]
    assert found(seller_kind="individual") == []

    page = http.get("/listings", headers=auth(buyer), params={"limit": 1, "sort": "price"})
    assert page.headers["Link"].endswith('rel="next"')
    rest = http.get(
        "/listings",
        headers=auth(buyer),
        params={"limit": 1, "sort": "price", "cursor": page.headers["X-Next-Cursor"]},
    )
    assert [item["title"] for item in rest.json()] == ["東京都心 交通量 2026"]

    entry = http.get("/listings", headers=auth(buyer), params={"q": "東京"}).json()[0]
    assert entry["seller"] == {
        "kind": "business",
        "display_name": "Toto Sensors",
        "verified": False,
    }
    assert participant_id(http, seller) not in json.dumps(entry)
    assert entry["licence"]["template"] == "dm-research-1.0"
    assert entry["licence"]["redistribution"] == "forbidden"
    assert entry["coverage"]["geography"] == ["JP-13"]

    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": "mobility.traffic/non_personal",
            "max_price_yen": 6_000,
            "purpose": "research.academic",
        },
    )
    assert bid.status_code == 201, bid.text
    detail = http.get(f"/listings/{listing['id']}", headers=auth(buyer))
    assert detail.status_code == 200, detail.text
    shown = detail.json()
    assert shown["last_trade"]["price_yen"] == 5_000
    assert shown["depth"]["asks"] == [{"price_yen": 5_000, "orders": 1, "quantity": 2}]
    assert shown["quality"]["score"] == shown["quality_score"]
    dictionary = {column["name"]: column for column in shown["column_dictionary"]}
    assert dictionary["台数"]["unit"] == "台/時" and dictionary["台数"]["type"] == "integer"
    assert dictionary["地点"]["semantic_tag"] == "geo.place"
    assert dictionary["地点"]["codes"][0] == "新宿"
    # Data about no person: the preview is the first real rows.
    assert shown["sample"]["kind"] == "real"
    assert shown["sample"]["rows"][0] == ["新宿", "120", "2026-11-01"]
    assert len(shown["sample"]["rows"]) == 5

    # A new revision: the preview shows its rows, not the first revision's.
    revised = CSV.replace(b"120,2026-11-01", b"135,2026-11-08")
    published = http.post(
        f"/datasets/{dataset_id}/revisions",
        headers=auth(seller),
        files={"file": ("d.csv", revised, "text/csv")},
    )
    assert published.status_code == 201, published.text
    again = http.get(f"/listings/{listing['id']}", headers=auth(buyer)).json()
    assert again["sample"]["rows"][0] == ["新宿", "135", "2026-11-08"]


def test_anonymized_data_previews_only_made_up_values(http: httpx.Client) -> None:
    seller = register(http, "Clinic KK")
    source = upload(
        http, seller, checkup_csv(), data_class="personal", category="healthcare.checkup"
    )
    started = http.post(
        "/anonymization-jobs",
        headers=auth(seller),
        json={"dataset_id": source.json()["id"], "spec": SPEC},
    )
    job = wait_for(http, seller, started.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    dataset_id = job["result_dataset_id"]
    listing = _list(http, seller, dataset_id, 20_000)
    stored = http.get(f"/datasets/{dataset_id}/download", headers=auth(seller)).text
    real = {cell for row in list(csv.reader(io.StringIO(stored)))[1:] for cell in row}

    shown = http.get(f"/listings/{listing['id']}", headers=auth(register(http, "Buyer"))).json()
    assert shown["sample"]["kind"] == "synthetic"
    assert shown["sample"]["rows"]
    assert not {cell for row in shown["sample"]["rows"] for cell in row} & real
    assert shown["announcement"] == f"/announcements/{dataset_id}"


def test_refused_metadata_is_a_422_or_403_and_changes_nothing(http: httpx.Client) -> None:
    seller = register(http, "Sensors KK")
    dataset_id = upload(http, seller, CSV).json()["id"]
    before = http.get(f"/datasets/{dataset_id}/metadata", headers=auth(seller)).json()
    cases = [
        ({"columns": [{"name": "lane", "semantic_tag": "geo.place"}]}, "no column 'lane'"),
        ({"coverage": {"period_start": "2026-12-01", "period_end": "2026-11-01"}}, "period"),
        ({"update_frequency": "sometimes"}, "update_frequency"),
        ({"licence": {"template": "my-own"}}, "template"),
        ({"title": "x", "price": 1}, "price"),
    ]
    for body, reason in cases:
        refused = http.put(f"/datasets/{dataset_id}/metadata", headers=auth(seller), json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert reason in refused.text
    stranger = http.put(
        f"/datasets/{dataset_id}/metadata", headers=auth(register(http, "Other")), json={}
    )
    assert stranger.status_code == 403
    assert http.get(f"/datasets/{dataset_id}/metadata", headers=auth(seller)).json() == before


def test_unknown_filters_and_foreign_cursors_are_refused(http: httpx.Client) -> None:
    buyer = register(http, "Buyer")
    unknown = http.get("/listings", headers=auth(buyer), params={"qq": "東京"})
    assert unknown.status_code == 422 and "qq" in unknown.json()["detail"]
    forged = http.get("/listings", headers=auth(buyer), params={"cursor": "bm90LWEtY3Vyc29y"})
    assert forged.status_code == 404
    assert forged.headers["content-type"] == PROBLEM
