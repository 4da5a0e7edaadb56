"""Market rules over real HTTP (issue 8): what other participants see, and what is refused."""

import httpx

from tests.e2e.test_market_slice import (
    PROBLEM,
    auth,
    open_instrument,
    participant_id,
    register,
    register_buyer,
    upload,
)


def _listing(http: httpx.Client, seller: str, **terms: object) -> dict:  # type: ignore[type-arg]
    dataset_id = upload(http, seller, b"sensor,count\nA,1\nB,2\n").json()["id"]
    response = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset_id,
            "price_yen": 500,
            "allowed_purposes": ["research"],
            **terms,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_listings_show_a_display_name_and_hide_ids_and_recipient_lists(http: httpx.Client) -> None:
    person = http.post(
        "/participants",
        json={"name": "山田太郎", "kind": "individual", "display_name": "Sensor hobbyist"},
    ).json()["api_key"]
    other = register(http, "Other KK")
    listing = _listing(http, person, denied_recipients=["category:insurance"])
    seen = http.get(f"/listings/{listing['id']}", headers=auth(other))
    assert seen.status_code == 200
    body = seen.json()
    assert body["seller_kind"] == "individual"
    assert body["seller_display_name"] == "Sensor hobbyist"
    assert "seller_id" not in body
    assert body["denied_recipients"] is None and body["allowed_recipients"] is None
    assert participant_id(http, person) not in seen.text and "山田" not in seen.text
    assert body["columns"] == ["sensor", "count"] and body["row_count"] == 2
    assert body["title"] and body["data_class"] == "non_personal"
    listed = http.get("/listings", headers=auth(other)).json()
    assert [item["id"] for item in listed] == [listing["id"]]
    assert "山田" not in http.get("/listings", headers=auth(other)).text
    own = http.get(f"/listings/{listing['id']}", headers=auth(person)).json()
    assert own["denied_recipients"] == ["category:insurance"]


def test_a_listing_id_sent_to_delete_bids_cancels_nothing(http: httpx.Client) -> None:
    seller = register(http, "Seller")
    listing = _listing(http, seller)
    response = http.delete(f"/bids/{listing['id']}", headers=auth(seller))
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert http.get(f"/listings/{listing['id']}", headers=auth(seller)).json()["status"] == "open"


def test_an_overflowing_term_is_a_422_and_stores_nothing(http: httpx.Client) -> None:
    seller = register(http, "Seller")
    dataset_id = upload(http, seller, b"a,b\n1,2\n").json()["id"]
    response = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset_id,
            "price_yen": 500,
            "allowed_purposes": ["research"],
            "term_days": 10**7,
        },
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.term_days"]
    assert http.get("/listings", headers=auth(seller), params={"mine": True}).json() == []


def test_a_self_registered_buyer_has_no_credit_until_an_operator_grants_it(
    http: httpx.Client, operator_key: str
) -> None:
    open_instrument(http, operator_key, "mobility.traffic/non_personal")
    buyer = register(http, "New Buyer")
    assert http.get("/me/credit", headers=auth(buyer)).json()["available_yen"] == 0
    body = {
        "instrument": "mobility.traffic/non_personal",
        "max_price_yen": 100,
        "purpose": "research.academic",
    }
    refused = http.post("/bids", headers=auth(buyer), json=body)
    assert refused.status_code == 402 and refused.headers["content-type"] == PROBLEM
    assert http.get("/bids", headers=auth(buyer)).json() == []
    granted = http.put(
        f"/operator/participants/{participant_id(http, buyer)}/credit",
        headers=auth(operator_key),
        json={"credit_limit_yen": 1_000, "reason": "trade reference checked"},
    )
    assert granted.status_code == 200
    assert http.post("/bids", headers=auth(buyer), json=body).status_code == 201
    audit = http.get("/operator/audit", headers=auth(operator_key)).json()
    assert audit[0]["action"] == "credit.granted" and audit[0]["reason"]


def test_a_mistyped_instrument_is_a_422_naming_the_near_match(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "Seller")
    _listing(http, seller)
    buyer = register_buyer(http, operator_key, "Buyer")
    response = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": "mobility.trafic/non_personal",
            "max_price_yen": 100,
            "purpose": "research.academic",
        },
    )
    assert response.status_code == 422
    assert "mobility.traffic/non_personal" in response.json()["detail"]
    assert http.get("/bids", headers=auth(buyer)).json() == []
    assert [i["name"] for i in http.get("/instruments").json()] == ["mobility.traffic/non_personal"]


def test_strict_bodies_refuse_booleans_unknown_fields_and_huge_numbers(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "Seller")
    _listing(http, seller)
    buyer = register_buyer(http, operator_key, "Buyer")
    base = {
        "instrument": "mobility.traffic/non_personal",
        "max_price_yen": 100,
        "purpose": "research.academic",
    }
    for field, value in (
        ("max_price_yen", True),
        ("max_price_yen", 2**63),
        ("max_price_yen", 2**50),
        ("quantity", "3"),
        ("surprise", 1),
    ):
        response = http.post("/bids", headers=auth(buyer), json={**base, field: value})
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["errors"][0]["field"] == f"body.{field}"
    named = http.post("/participants", json={"name": "Evil\x00Corp", "kind": "business"})
    assert named.status_code == 422
    assert http.get("/bids", headers=auth(buyer)).json() == []


def test_lists_page_with_a_stable_cursor_and_refuse_unknown_filters(http: httpx.Client) -> None:
    seller = register(http, "Seller")
    ids = [_listing(http, seller)["id"] for _ in range(5)]
    first = http.get("/listings", headers=auth(seller), params={"limit": 2})
    assert [item["id"] for item in first.json()] == ids[::-1][:2]
    assert 'rel="next"' in first.headers["link"]
    _listing(http, seller)  # a newer listing must not shift the pages that follow
    seen = [item["id"] for item in first.json()]
    cursor = first.headers["x-next-cursor"]
    while cursor:
        page = http.get("/listings", headers=auth(seller), params={"limit": 2, "cursor": cursor})
        assert page.status_code == 200
        seen += [item["id"] for item in page.json()]
        cursor = page.headers.get("x-next-cursor")
    assert seen == ids[::-1]
    mistyped = http.get("/listings", headers=auth(seller), params={"instrumnet": "x"})
    assert mistyped.status_code == 422 and "instrumnet" in mistyped.json()["detail"]
    forged = http.get("/listings", headers=auth(seller), params={"cursor": "bm90LWEtY3Vyc29y"})
    assert forged.status_code == 404 and forged.headers["content-type"] == PROBLEM


def test_keys_rotate_and_the_last_one_cannot_be_revoked(
    http: httpx.Client, operator_key: str
) -> None:
    first = register(http, "Rotating KK")
    [only] = http.get("/me/keys", headers=auth(first)).json()
    last = http.delete(f"/me/keys/{only['id']}", headers=auth(first))
    assert last.status_code == 409 and "last API key" in last.json()["detail"]
    second = http.post("/me/keys", headers=auth(first)).json()["api_key"]
    assert http.delete(f"/me/keys/{only['id']}", headers=auth(second)).status_code == 200
    assert http.get("/me", headers=auth(first)).status_code == 401
    [remaining] = http.get("/me/keys", headers=auth(second)).json()
    revoked = http.request(
        "DELETE",
        f"/operator/keys/{remaining['id']}",
        headers=auth(operator_key),
        json={"reason": "key published in a public repository"},
    )
    assert revoked.status_code == 200
    assert http.get("/me", headers=auth(second)).status_code == 401
    audit = http.get("/operator/audit", headers=auth(operator_key)).json()
    assert audit[0]["action"] == "api_key.revoked"


def test_sellers_see_their_sales_and_balance_and_can_change_a_price(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "Seller")
    listing = _listing(http, seller, licence_count=3)
    buyer = register_buyer(http, operator_key, "Buyer")
    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": listing["instrument"],
            "max_price_yen": 400,
            "purpose": "research.academic",
        },
    ).json()
    assert bid["trades"] == []
    cut = http.patch(f"/listings/{listing['id']}", headers=auth(seller), json={"price_yen": 350})
    assert cut.status_code == 200 and cut.json()["price_yen"] == 350
    assert cut.json()["licences_sold"] == 1
    [sale] = http.get("/sales", headers=auth(seller)).json()
    assert sale["price_yen"] == 400
    balance = http.get("/sales/balance", headers=auth(seller)).json()
    # 400 yen and 40 yen consumption tax; the 40 yen fee carries 4 yen of its own tax.
    assert balance == {
        "gross_sales_yen": 400,
        "consumption_tax_yen": 40,
        "fees_yen": 40,
        "fee_tax_yen": 4,
        "refunded_yen": 0,
        "earned_yen": 396,
        "paid_out_yen": 0,
        "balance_yen": 396,
    }
    other = register(http, "Other")
    refused = http.patch(f"/listings/{listing['id']}", headers=auth(other), json={"price_yen": 1})
    assert refused.status_code == 404


def test_a_listed_dataset_is_described_to_buyers_without_its_seller_id(http: httpx.Client) -> None:
    seller = register(http, "Seller")
    listing = _listing(http, seller)
    buyer = register(http, "Buyer")
    seen = http.get(f"/datasets/{listing['dataset_id']}", headers=auth(buyer))
    assert seen.status_code == 200
    assert seen.json()["seller_id"] is None and seen.json()["row_count"] == 2
    own = http.get(f"/datasets/{listing['dataset_id']}", headers=auth(seller)).json()
    assert own["seller_id"] == participant_id(http, seller)
    personal = upload(http, seller, "氏名,年齢\n山田太郎,34\n".encode(), data_class="personal")
    hidden = http.get(f"/datasets/{personal.json()['id']}", headers=auth(buyer))
    assert hidden.status_code == 404 and "山田" not in hidden.text
