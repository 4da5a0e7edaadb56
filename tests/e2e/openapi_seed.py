"""Seed a live market over HTTP so that every operation of the OpenAPI has valid ids to use.

Used by tests/e2e/test_openapi_fuzz.py. Each destructive operation (cancel, revoke, decide,
confirm, sign out) gets an object of its own, so the order in which the fuzzer visits the
operations does not decide whether one of them can still reach a 2xx.
"""

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlmodel import Session

from market import db
from market.models import Participant
from market.participants import register_participant
from market.service import Market
from market.settings import Settings

PASSWORD = "a long enough passphrase"
INSTRUMENT = "mobility.traffic/non_personal"
SPARE_INSTRUMENT = "mobility.parking/non_personal"
TRAFFIC_CSV = "地点,台数\n新宿,120\n渋谷,98\n".encode()
CHECKUP_SPEC = {
    "title": "健診結果 (匿名加工情報)",
    "category": "healthcare.checkup",
    "columns": {
        "氏名": {"kind": "identifying", "category": "name"},
        "年齢": {"kind": "quasi_identifying", "category": "age"},
        "性別": {"kind": "quasi_identifying", "category": "gender"},
        "診断": {"kind": "sensitive"},
    },
    "k": 2,
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Seeded:
    """Credentials and ids of the seeded market."""

    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json() if response.content else {}


def _checkup_csv(rows: int = 40) -> bytes:
    lines = ["氏名,年齢,性別,診断"]
    for i in range(rows):
        lines.append(f"山田{i}郎,{20 + i % 4},{'男女'[i % 2]},{['正常', '高血圧'][i % 2]}")
    return ("\n".join(lines) + "\n").encode()


def _operator_key(settings: Settings) -> str:
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with db.unit_of_work(engine) as session:
            _, key = register_participant(session=session, name="Ops", kind="operator")
    finally:
        engine.dispose()
    return key


def seed_market(http: httpx.Client, settings: Settings) -> Seeded:
    """Participants, datasets, listings, bids, a trade and invoice, a job, people and requests."""
    s = Seeded()
    s.tokens["operator"] = _operator_key(settings)
    ops = auth(s.tokens["operator"])

    def register(role: str, kind: str, **extra: Any) -> str:
        body = _ok(http.post("/participants", json={"name": role, "kind": kind, **extra}), 201)
        s.tokens[role] = body["api_key"]
        s.ids[role] = body["participant"]["id"]
        return s.ids[role]

    register("seller", "business")
    register(
        "buyer",
        "business",
        recipient_category="insurance",
        security_profile={"certifications": ["ISMS"], "encryption_at_rest": True},
    )
    register("spare", "business")
    register("bank", "info_bank")
    buyer_id = s.ids["buyer"]
    _ok(
        http.put(
            f"/operator/participants/{buyer_id}/credit",
            headers=ops,
            json={"credit_limit_yen": 10**9, "reason": "fuzz buyer"},
        ),
        200,
    )
    _ok(
        http.put(
            f"/operator/participants/{buyer_id}/verification",
            headers=ops,
            json={"verified": True, "reason": "fuzz buyer"},
        ),
        200,
    )
    # A second key of the buyer's to revoke itself, and one of the spare's for the operator.
    buyer = auth(s.tokens["buyer"])
    _ok(http.post("/me/keys", headers=buyer), 201)
    in_use = s.tokens["buyer"].split("_")[1]
    keys = _ok(http.get("/me/keys", headers=buyer), 200)
    s.ids["buyer_spare_key"] = next(k["id"] for k in keys if k["id"] != in_use)
    s.ids["spare_key"] = _ok(http.get("/me/keys", headers=auth(s.tokens["spare"])), 200)[0]["id"]

    seller = auth(s.tokens["seller"])
    for name in (INSTRUMENT, SPARE_INSTRUMENT):
        _ok(http.post("/operator/instruments", headers=ops, json={"name": name}), 201)
    form = {"title": "Traffic", "category": "mobility.traffic", "data_class": "non_personal"}
    files = {"file": ("d.csv", TRAFFIC_CSV, "text/csv")}
    s.ids["dataset"] = _ok(http.post("/datasets", headers=seller, data=form, files=files), 201)[
        "id"
    ]
    personal = {"title": "Checkups", "category": "healthcare.checkup", "data_class": "personal"}
    files = {"file": ("c.csv", _checkup_csv(), "text/csv")}
    s.ids["personal_dataset"] = _ok(
        http.post("/datasets", headers=seller, data=personal, files=files), 201
    )["id"]
    # Two of everything that is listed, so that each list has a second page (and a cursor).
    for _ in range(2):
        job = _ok(
            http.post(
                "/anonymization-jobs",
                headers=seller,
                json={"dataset_id": s.ids["personal_dataset"], "spec": CHECKUP_SPEC},
            ),
            202,
        )
        s.ids["job"] = job["id"]
        s.ids["anonymized_dataset"] = _wait_for_job(http, seller, job["id"])

    def listing(price: int, count: int | None = 100) -> str:
        body = {
            "dataset_id": s.ids["dataset"],
            "price_yen": price,
            "licence_count": count,
            "allowed_purposes": ["research"],
        }
        return str(_ok(http.post("/listings", headers=seller, json=body), 201)["id"])

    s.ids["listing"] = listing(5_000)
    s.ids["listing_to_cancel"] = listing(9_000)
    s.ids["listing_to_amend"] = listing(9_500)

    def bid(max_price: int, purpose: str = "research.academic") -> dict[str, Any]:
        body = {"instrument": INSTRUMENT, "max_price_yen": max_price, "purpose": purpose}
        return _ok(http.post("/bids", headers=buyer, json=body), 201)

    # A licence is bought once per purpose: two purposes make two trades, licences, invoices.
    for purpose in ("research.academic", "research.statistics"):
        s.ids["trade"] = bid(6_000, purpose)["trades"][0]["id"]
    s.ids["bid_to_cancel"] = bid(1_000)["bid"]["id"]
    s.ids["bid_to_amend"] = bid(1_100)["bid"]["id"]
    invoices = _ok(http.get("/invoices", headers=buyer), 200)
    s.ids["invoice"] = invoices[0]["id"]
    # A third purchase, paid and partly refunded: a refund to show, and a seller owed a payout.
    refunded = bid(6_000, "research.medical")["trades"][0]["id"]
    invoice = next(
        i for i in _ok(http.get("/invoices", headers=buyer), 200) if i["trade_id"] == refunded
    )
    s.ids["refunded_invoice"] = invoice["id"]
    paid = {"reference": "fuzz transfer"}
    _ok(http.post(f"/operator/invoices/{invoice['id']}/paid", headers=ops, json=paid), 200)
    refund = {"amount_yen": 100, "reason": "fuzz refund"}
    path = f"/operator/invoices/{invoice['id']}/refund"
    s.ids["refund"] = _ok(http.post(path, headers=ops, json=refund), 201)["id"]
    s.ids["licence"] = _ok(http.get("/licences", headers=buyer), 200)[0]["id"]
    # Ratings and revisions (api/routers/ratings.py): a paid licence to rate, and a listing that
    # has sold nothing, whose coverage may still change.
    licences = _ok(http.get("/licences", headers=buyer), 200)
    s.ids["paid_licence"] = next(lic["id"] for lic in licences if lic["trade_id"] == refunded)
    s.ids["listing_for_coverage"] = listing(9_800)
    # A signed download link lasts minutes (market/delivery/urls.py): the fuzzer uses it at once.
    link = _ok(http.post(f"/licences/{s.ids['licence']}/download-url", headers=buyer), 200)
    s.ids["download_token"] = link["url"].rsplit("/", 1)[1]

    _seed_people(http, s)
    _seed_pool(http, s)
    s.ids["spare_instrument"] = SPARE_INSTRUMENT
    return s


def _seed_pool(http: httpx.Client, s: Seeded) -> None:
    """The bank's pooled listing of its delegators' checkups, bought and approved by its board."""
    bank, buyer = auth(s.tokens["bank"]), auth(s.tokens["buyer"])
    body = {
        "pool": {"categories": ["health_checkup"], "min_cohort": 2},
        "price_yen": 500,
        "allowed_purposes": ["research.medical"],
    }
    pool = _ok(http.post("/listings", headers=bank, json=body), 201)
    s.ids["pool_listing"] = pool["id"]
    order = {
        "instrument": pool["instrument"],
        "max_price_yen": 500,
        "purpose": "research.medical",
        "dataset_id": pool["dataset_id"],
    }
    [trade] = _ok(http.post("/bids", headers=buyer, json=order), 201)["trades"]
    [case] = _ok(http.get("/banks/me/board", headers=bank), 200)
    decision = {"approve": True, "reason": "fuzz seed: medical research"}
    path = f"/banks/me/board/{case['request_id']}/decision"
    _ok(http.post(path, headers=bank, json=decision), 200)
    licences = _ok(http.get("/licences", headers=buyer), 200)
    s.ids["pool_licence"] = next(lic["id"] for lic in licences if lic["trade_id"] == trade["id"])


def _wait_for_job(http: httpx.Client, headers: dict[str, str], job_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = _ok(http.get(f"/anonymization-jobs/{job_id}", headers=headers), 200)
        if job["status"] == "succeeded":
            return str(job["result_dataset_id"])
        assert job["status"] != "failed", job["error"]
        time.sleep(0.1)
    raise AssertionError("the anonymization job did not finish")


def _seed_people(http: httpx.Client, s: Seeded) -> None:
    """A person with records and conditions, a guardian with a ward, a bank with a board case."""

    def person(role: str) -> str:
        body = _ok(http.post("/participants", json={"name": role, "kind": "individual"}), 201)
        s.ids[role] = body["participant"]["id"]
        s.tokens[f"{role}_key"] = body["api_key"]
        _ok(
            http.put("/me/password", headers=auth(body["api_key"]), json={"password": PASSWORD}),
            204,
        )
        session = http.post("/sessions", json={"participant_id": s.ids[role], "password": PASSWORD})
        s.tokens[role] = _ok(session, 201)["token"]
        return s.ids[role]

    for role in ("person", "guardian", "ward", "signed_out", "password_holder"):
        person(role)
    for i in range(3):
        person(f"delegator{i}")
    for role in ("person", "delegator0", "delegator1", "delegator2"):
        headers = auth(s.tokens[role])
        record = {"category": "health_checkup", "data": {"checked_on": "2026-04-01"}}
        _ok(http.post("/me/records", headers=headers, json=record), 201)
        conditions = {"purposes": ["research.medical"], "categories": ["health_checkup"]}
        _ok(http.put("/me/conditions", headers=headers, json=conditions), 200)
    for i in range(3):
        headers = auth(s.tokens[f"delegator{i}"])
        _ok(http.put("/me/delegation", headers=headers, json={"bank_id": s.ids["bank"]}), 200)

    _ok(
        http.put(
            "/me/account", headers=auth(s.tokens["guardian"]), json={"birth_date": "1980-01-01"}
        ),
        200,
    )
    ward = auth(s.tokens["ward"])
    minor = date.today().replace(year=date.today().year - 10, day=1)
    _ok(
        http.put(
            "/me/account",
            headers=ward,
            json={"birth_date": minor.isoformat(), "guardian_id": s.ids["guardian"]},
        ),
        200,
    )
    conditions = {"purposes": ["research.medical"], "categories": ["health_checkup"]}
    version = _ok(http.put("/me/conditions", headers=ward, json=conditions), 200)
    s.ids["ward_version"] = str(version["version"])


def seed_requests(market: Market, s: Seeded) -> None:
    """Provision requests are opened by the market's desks (as a matched bid would)."""
    buyer = _participant(market, s.ids["buyer"])
    terms = {
        "purpose": "research.medical",
        "categories": ["health_checkup"],
        "price_per_record_yen": 500,
    }
    provided = market.pds.open_direct_request(recipient=buyer, person_id=s.ids["person"], **terms)
    market.pds.decide(
        person=_participant(market, s.ids["person"]), request_id=provided.id, approve=True
    )
    s.ids["provided_request"] = provided.id
    pending = market.pds.open_direct_request(recipient=buyer, person_id=s.ids["person"], **terms)
    s.ids["pending_request"] = pending.id
    pooled = market.banks.open_pool_request(
        recipient=buyer, bank_id=s.ids["bank"], min_cohort=2, **terms
    )
    s.ids["board_request"] = pooled.id


def _participant(market: Market, participant_id: str) -> Participant:
    with Session(market.db) as session:
        row = session.get(Participant, participant_id)
    assert row is not None
    return row


# Who calls each operation (buyer unless named) and which seeded object each path parameter
# names. Each destructive operation gets an object of its own.
ROLES = {
    "seller": [
        "POST /datasets",
        "GET /datasets",
        "GET /datasets/{dataset_id}",
        "POST /listings",
        "DELETE /listings/{listing_id}",
        "PATCH /listings/{listing_id}",
        "GET /sales",
        "GET /sales/balance",
        "GET /datasets/{dataset_id}/proposed-columns",
        "GET /datasets/{dataset_id}/quality",
        "POST /anonymization-jobs",
        "GET /anonymization-jobs/{job_id}",
        "POST /datasets/{dataset_id}/revisions",
        "GET /datasets/{dataset_id}/revisions",
        "PUT /listings/{listing_id}/coverage",
        "PUT /datasets/{dataset_id}/metadata",
        "GET /datasets/{dataset_id}/metadata",
    ],
    "person": [
        "POST /sessions/reauthenticate",
        "PUT /me/account",
        "POST /me/records",
        "GET /me/records",
        "POST /me/records/import",
        "POST /me/records/import-csv",
        "GET /me/conditions",
        "PUT /me/conditions",
        "GET /me/delegation",
        "PUT /me/delegation",
        "DELETE /me/delegation",
        "GET /me/requests",
        "POST /me/requests/{request_id}/decision",
        "GET /me/consents",
        "GET /me/provisions",
    ],
    "password_holder": ["PUT /me/password"],
    "signed_out": ["DELETE /sessions/current"],
    "guardian": ["GET /me/wards", "POST /me/wards/{person_id}/conditions/{version}/confirm"],
    "bank": ["GET /banks/me/board", "POST /banks/me/board/{request_id}/decision"],
}
PATH_IDS = {
    "DELETE /me/keys/{key_id}": {"key_id": "buyer_spare_key"},
    "GET /datasets/{dataset_id}": {"dataset_id": "dataset"},
    "GET /datasets/{dataset_id}/download": {"dataset_id": "dataset"},
    "GET /datasets/{dataset_id}/quality": {"dataset_id": "dataset"},
    "PUT /datasets/{dataset_id}/metadata": {"dataset_id": "dataset"},
    "GET /datasets/{dataset_id}/metadata": {"dataset_id": "dataset"},
    "GET /datasets/{dataset_id}/proposed-columns": {"dataset_id": "personal_dataset"},
    "GET /announcements/{dataset_id}": {"dataset_id": "anonymized_dataset"},
    "GET /listings/{listing_id}": {"listing_id": "listing"},
    "GET /listings/{listing_id}/cohort": {"listing_id": "pool_listing"},
    "GET /licences/{licence_id}/records": {"licence_id": "pool_licence"},
    "DELETE /listings/{listing_id}": {"listing_id": "listing_to_cancel"},
    "PATCH /listings/{listing_id}": {"listing_id": "listing_to_amend"},
    "DELETE /bids/{bid_id}": {"bid_id": "bid_to_cancel"},
    "PATCH /bids/{bid_id}": {"bid_id": "bid_to_amend"},
    "GET /anonymization-jobs/{job_id}": {"job_id": "job"},
    "PUT /operator/participants/{participant_id}/credit": {"participant_id": "spare"},
    "POST /operator/participants/{participant_id}/deposits": {"participant_id": "spare"},
    "PUT /operator/participants/{participant_id}/verification": {"participant_id": "spare"},
    "DELETE /operator/keys/{key_id}": {"key_id": "spare_key"},
    "POST /operator/participants/{participant_id}/payouts": {"participant_id": "seller"},
    "PUT /operator/participants/{participant_id}/connected-account": {"participant_id": "seller"},
    "GET /refunds/{refund_id}/document": {"refund_id": "refund"},
    "PUT /operator/instruments/{instrument}/mode": {"instrument": "spare_instrument"},
    "PUT /operator/instruments/{instrument}/fees": {"instrument": "spare_instrument"},
    "POST /operator/instruments/{instrument}/auction": {"instrument": "spare_instrument"},
    "POST /operator/invoices/{invoice_id}/paid": {"invoice_id": "invoice"},
    "POST /operator/invoices/{invoice_id}/refund": {"invoice_id": "refunded_invoice"},
    "GET /invoices/{invoice_id}/document": {"invoice_id": "invoice"},
    "GET /invoices/{invoice_id}/refunds": {"invoice_id": "refunded_invoice"},
    "POST /me/wards/{person_id}/conditions/{version}/confirm": {
        "person_id": "ward",
        "version": "ward_version",
    },
    "POST /me/requests/{request_id}/decision": {"request_id": "pending_request"},
    "POST /banks/me/board/{request_id}/decision": {"request_id": "board_request"},
    "GET /provision-requests/{request_id}": {"request_id": "provided_request"},
    "GET /provision-requests/{request_id}/records": {"request_id": "provided_request"},
    "POST /licences/{licence_id}/download-url": {"licence_id": "licence"},
    "GET /downloads/{token}": {"token": "download_token"},
    "POST /licences/{licence_id}/rating": {"licence_id": "paid_licence"},
    "GET /sellers/{seller_id}/credibility": {"seller_id": "seller"},
    "POST /datasets/{dataset_id}/revisions": {"dataset_id": "dataset"},
    "GET /datasets/{dataset_id}/revisions": {"dataset_id": "dataset"},
    "PUT /listings/{listing_id}/coverage": {"listing_id": "listing_for_coverage"},
}


def role_of(operation: str) -> str:
    if operation.split(" ", 1)[1].startswith("/operator/"):
        return "operator"
    return next((role for role, ops in ROLES.items() if operation in ops), "buyer")
