"""The whole slice over real HTTP: register, upload, list, bid, trade, settle, download, operate."""

import csv
import io

import httpx

PROBLEM = "application/problem+json"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def register(http: httpx.Client, name: str, **extra: str) -> str:
    response = http.post("/participants", json={"name": name, "kind": "business", **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["api_key"])


def participant_id(http: httpx.Client, key: str) -> str:
    return str(http.get("/me", headers=auth(key)).json()["id"])


def register_buyer(
    http: httpx.Client, operator_key: str, name: str, *, credit_yen: int = 1_000_000, **extra: str
) -> str:
    """Register a buyer; the operator grants it credit and verifies its declarations."""
    key = register(http, name, **extra)
    buyer_id = participant_id(http, key)
    granted = http.put(
        f"/operator/participants/{buyer_id}/credit",
        headers=auth(operator_key),
        json={"credit_limit_yen": credit_yen, "reason": "test buyer"},
    )
    assert granted.status_code == 200, granted.text
    verified = http.put(
        f"/operator/participants/{buyer_id}/verification",
        headers=auth(operator_key),
        json={"verified": True, "reason": "test buyer"},
    )
    assert verified.status_code == 200, verified.text
    return key


def open_instrument(http: httpx.Client, operator_key: str, name: str) -> None:
    response = http.post("/operator/instruments", headers=auth(operator_key), json={"name": name})
    assert response.status_code == 201, response.text


def upload(http: httpx.Client, key: str, raw: bytes, **form: str) -> httpx.Response:
    fields = {
        "title": "Traffic",
        "category": "mobility.traffic",
        "data_class": "non_personal",
        **form,
    }
    return http.post(
        "/datasets", headers=auth(key), data=fields, files={"file": ("d.csv", raw, "text/csv")}
    )


def test_whole_slice_over_http(http: httpx.Client, operator_key: str) -> None:
    seller = register(http, "東都センサー")
    buyer = register_buyer(http, operator_key, "Buyer Lab", recipient_category="research")
    outsider = register(http, "Someone else")

    raw = "地点,台数\n新宿,120\n渋谷,98\n".encode("cp932")
    dataset = upload(http, seller, raw)
    assert dataset.status_code == 201, dataset.text
    dataset_id = dataset.json()["id"]
    assert dataset.json()["source_encoding"] == "cp932"

    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset_id,
            "price_yen": 5_000,
            "licence_count": 3,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    instrument = listing.json()["instrument"]
    assert instrument == "mobility.traffic/non_personal"

    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={"instrument": instrument, "max_price_yen": 6_000, "purpose": "research.academic"},
    )
    assert bid.status_code == 201, bid.text
    trades = bid.json()["trades"]
    assert [(t["price_yen"], t["dataset_id"]) for t in trades] == [(5_000, dataset_id)]
    assert bid.json()["bid"]["status"] == "filled"

    invoices = http.get("/invoices", headers=auth(buyer)).json()
    # 5,000 yen and 10% consumption tax: the seller is a business, taxable unless it says not.
    assert [(i["amount_yen"], i["status"]) for i in invoices] == [(5_500, "issued")]

    download = http.get(f"/datasets/{dataset_id}/download", headers=auth(buyer))
    assert download.status_code == 200
    # The buyer's copy carries its licence's fingerprint in row order and quoting, not values.
    header, *rows = csv.reader(io.StringIO(download.text, newline=""))
    assert header == ["地点", "台数"] and sorted(rows) == [["新宿", "120"], ["渋谷", "98"]]

    refused = http.get(f"/datasets/{dataset_id}/download", headers=auth(outsider))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert "licence" in refused.json()["detail"]

    operator_trades = http.get("/operator/trades", headers=auth(operator_key))
    assert [t["id"] for t in operator_trades.json()] == [trades[0]["id"]]
    assert http.get("/operator/trades", headers=auth(buyer)).status_code == 403

    paid = http.post(
        f"/operator/invoices/{invoices[0]['id']}/paid",
        headers=auth(operator_key),
        json={"reference": "MUFG 2026-12-01 #1"},
    )
    assert paid.json()["status"] == "paid"
    audit = http.get("/operator/audit", headers=auth(operator_key)).json()
    assert audit[0]["action"] == "invoice.marked_paid"
    assert audit[0]["target_id"] == invoices[0]["id"]
    balances = http.get("/operator/ledger/balances", headers=auth(operator_key)).json()
    assert sum(balances.values()) == 0 and balances["cash:bank"] == 5_500


def test_bad_upload_is_422_problem_and_stores_nothing(http: httpx.Client) -> None:
    seller = register(http, "Seller")
    for raw in (b"", b"a,b\n1,2,3\n", b"\xff\xfe\x00\x01", b"1,2\n3,4\n"):
        response = upload(http, seller, raw)
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["detail"]
    assert http.get("/datasets", headers=auth(seller)).json() == []


def test_errors_are_problem_json(http: httpx.Client) -> None:
    missing_auth = http.get("/me")
    assert missing_auth.status_code == 401 and missing_auth.headers["content-type"] == PROBLEM
    bad_key = http.get("/me", headers=auth("dm_nope_nope"))
    assert bad_key.status_code == 401
    unknown = http.get("/no/such/thing")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == PROBLEM
    buyer = register(http, "Buyer")
    invalid = http.post(
        "/bids", headers=auth(buyer), json={"instrument": "x/y", "max_price_yen": -1}
    )
    assert invalid.status_code == 422
    assert {e["field"] for e in invalid.json()["errors"]} >= {
        "body.instrument",
        "body.max_price_yen",
        "body.purpose",
    }
    unknown_purpose = http.post(
        "/bids",
        headers=auth(buyer),
        json={"instrument": "a.b/non_personal", "max_price_yen": 10, "purpose": "spying"},
    )
    assert (
        unknown_purpose.status_code == 422
        and "docs/purposes.md" in unknown_purpose.json()["detail"]
    )


def test_bid_beyond_credit_limit_is_refused(http: httpx.Client, operator_key: str) -> None:
    open_instrument(http, operator_key, "a.b/non_personal")
    buyer = register_buyer(http, operator_key, "Buyer", credit_yen=10**6)
    response = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": "a.b/non_personal",
            "max_price_yen": 10**9,
            "purpose": "research.academic",
        },
    )
    assert response.status_code == 402
    assert "credit limit" in response.json()["detail"]
    assert http.get("/bids", headers=auth(buyer)).json() == []


def test_cancelled_bid_no_longer_trades(http: httpx.Client, operator_key: str) -> None:
    open_instrument(http, operator_key, "mobility.traffic/non_personal")
    seller = register(http, "Seller")
    buyer = register_buyer(http, operator_key, "Buyer")
    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": "mobility.traffic/non_personal",
            "max_price_yen": 900,
            "purpose": "research.academic",
        },
    ).json()["bid"]
    assert bid["status"] == "open"
    cancelled = http.delete(f"/bids/{bid['id']}", headers=auth(buyer))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = http.delete(f"/bids/{bid['id']}", headers=auth(buyer))
    assert again.status_code == 409
    assert http.delete(f"/bids/{bid['id']}", headers=auth(seller)).status_code == 404

    dataset_id = upload(http, seller, b"a,b\n1,2\n").json()["id"]
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={"dataset_id": dataset_id, "price_yen": 500, "allowed_purposes": ["research"]},
    ).json()
    assert listing["status"] == "open" and listing["licences_sold"] == 0
    assert http.get("/licences", headers=auth(buyer)).json() == []
    closed = http.delete(f"/listings/{listing['id']}", headers=auth(seller))
    assert closed.json()["status"] == "cancelled"


def test_retried_bid_with_the_same_idempotency_key_buys_once(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "Seller")
    buyer = register_buyer(http, operator_key, "Buyer")
    for _ in range(2):
        dataset_id = upload(http, seller, b"a,b\n1,2\n").json()["id"]
        http.post(
            "/listings",
            headers=auth(seller),
            json={"dataset_id": dataset_id, "price_yen": 500, "allowed_purposes": ["research"]},
        )
    body = {
        "instrument": "mobility.traffic/non_personal",
        "max_price_yen": 900,
        "purpose": "research.academic",
    }
    headers = {**auth(buyer), "Idempotency-Key": "order-42"}
    first = http.post("/bids", headers=headers, json=body)
    retry = http.post("/bids", headers=headers, json=body)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert len(http.get("/licences", headers=auth(buyer)).json()) == 1

    reused = http.post("/bids", headers=headers, json={**body, "max_price_yen": 901})
    assert reused.status_code == 409 and "different request" in reused.json()["detail"]


def test_a_failed_request_releases_its_idempotency_key(
    http: httpx.Client, operator_key: str
) -> None:
    open_instrument(http, operator_key, "a.b/non_personal")
    buyer = register(http, "Buyer")
    headers = {**auth(buyer), "Idempotency-Key": "k1"}
    body = {
        "instrument": "a.b/non_personal",
        "max_price_yen": 10**9,
        "purpose": "research.academic",
    }
    assert http.post("/bids", headers=headers, json=body).status_code == 402
    assert http.post("/bids", headers=headers, json=body).status_code == 402


def test_operator_runs_a_call_auction_over_http(http: httpx.Client, operator_key: str) -> None:
    seller = register(http, "Seller")
    buyer = register_buyer(http, operator_key, "Buyer")
    instrument = "mobility.traffic/non_personal"
    open_instrument(http, operator_key, instrument)
    mode = http.put(
        f"/operator/instruments/{instrument}/mode",
        headers=auth(operator_key),
        json={"mode": "periodic"},
    )
    assert mode.status_code == 200, mode.text
    dataset_id = upload(http, seller, b"a,b\n1,2\n").json()["id"]
    http.post(
        "/listings",
        headers=auth(seller),
        json={"dataset_id": dataset_id, "price_yen": 500, "allowed_purposes": ["research"]},
    )
    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={"instrument": instrument, "max_price_yen": 900, "purpose": "research.academic"},
    )
    assert bid.json()["trades"] == []
    auction = http.post(f"/operator/instruments/{instrument}/auction", headers=auth(operator_key))
    assert auction.status_code == 200
    assert [t["dataset_id"] for t in auction.json()] == [dataset_id]
    assert (
        http.post(f"/operator/instruments/{instrument}/auction", headers=auth(buyer)).status_code
        == 403
    )


def test_personal_data_is_stored_but_never_listed_and_anonymized_cannot_be_uploaded(
    http: httpx.Client,
) -> None:
    seller = register(http, "Seller")
    personal = upload(http, seller, "氏名,年齢\n山田太郎,34\n".encode(), data_class="personal")
    assert personal.status_code == 201
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": personal.json()["id"],
            "price_yen": 500,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 422 and "anonymization-jobs" in listing.json()["detail"]
    assert "山田" not in listing.text
    anonymized = upload(http, seller, b"a,b\n1,2\n", data_class="anonymized")
    assert anonymized.status_code == 422 and "anonymization job" in anonymized.json()["detail"]
