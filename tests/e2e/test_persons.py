"""People in control over real HTTP: PDS records, sign-in, conditions, delegation, decisions,
the bank's data-ethics board, receipts, provision records, and every refusal storing nothing.

Requests for personal data are opened through the market's desks (as the order book will when a
bid matches); everything a person, a bank or a recipient does goes over HTTP.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, func, select

from market import db
from market.models import Participant
from market.personal.tables import (
    ConditionsVersion,
    ConsentReceipt,
    PersonalRecord,
    PersonSession,
    ProvisionRecord,
)
from market.service import Market
from market.settings import Settings

PROBLEM = "application/problem+json"
PASSWORD = "a long enough passphrase"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def market(live_url: str, settings: Settings) -> Iterator[Market]:
    """The live market's database, for opening requests beside the server (no engine ownership)."""
    market = Market(settings)
    yield market
    market.close()


def count(market: Market, table: type) -> int:
    with Session(market.db) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def participant(market: Market, participant_id: str) -> Participant:
    with Session(market.db) as session:
        row = session.get(Participant, participant_id)
    assert row is not None
    return row


def register(http: httpx.Client, name: str, kind: str, **extra: object) -> tuple[str, str]:
    response = http.post("/participants", json={"name": name, "kind": kind, **extra})
    assert response.status_code == 201, response.text
    return response.json()["participant"]["id"], response.json()["api_key"]


def signed_in_person(http: httpx.Client, name: str) -> tuple[str, str]:
    """An individual with a password; returns (id, session token)."""
    person_id, key = register(http, name, "individual")
    assert (
        http.put("/me/password", headers=auth(key), json={"password": PASSWORD}).status_code == 204
    )
    session = http.post("/sessions", json={"participant_id": person_id, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return person_id, session.json()["token"]


def verified_buyer(
    http: httpx.Client, operator_key: str, name: str, **declared: object
) -> tuple[str, str]:
    buyer_id, key = register(http, name, "business", **declared)
    verified = http.put(
        f"/operator/participants/{buyer_id}/verification",
        headers=auth(operator_key),
        json={"verified": True, "reason": "register checked"},
    )
    assert verified.status_code == 200, verified.text
    return buyer_id, key


def checkup(i: int) -> dict[str, object]:
    return {
        "category": "health_checkup",
        "data": {"checked_on": "2026-04-01", "systolic_bp": 110 + i},
    }


def assert_problem(response: httpx.Response, status: int, title: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == title


def test_healthcare_people_decide_directly_or_through_a_bank_and_its_board(
    http: httpx.Client, operator_key: str, market: Market
) -> None:
    bank_id, bank_key = register(http, "ヘルスデータ銀行", "info_bank")
    insurer_id, insurer_key = verified_buyer(
        http,
        operator_key,
        "Sakura Life",
        recipient_category="insurance",
        country="JP",
        security_profile={
            "certifications": ["ISMS"],
            "encryption_at_rest": True,
            "retention_days": 730,
        },
    )
    people = [signed_in_person(http, f"person {i}") for i in range(8)]
    for i, (_, token) in enumerate(people):
        stored = http.post("/me/records", headers=auth(token), json=checkup(i))
        assert stored.status_code == 201, stored.text
        assert stored.json()["sensitive"] is True
        purposes = ["research.medical"] if i % 2 == 0 else ["health.care"]
        put = http.put(
            "/me/conditions",
            headers=auth(token),
            json={"purposes": purposes, "categories": ["health_checkup"]},
        )
        assert put.status_code == 200 and put.json()["version"] == 1, put.text
        if i < 4:
            delegated = http.put("/me/delegation", headers=auth(token), json={"bank_id": bank_id})
            assert delegated.json()["mode"] == "delegated", delegated.text

    insurer_row = participant(market, insurer_id)
    terms = {
        "purpose": "research.medical",
        "categories": ["health_checkup"],
        "price_per_record_yen": 500,
    }
    assert market.banks.cohort_size(recipient=insurer_row, bank_id=bank_id, **terms) == 2
    pooled = market.banks.open_pool_request(
        recipient=insurer_row, bank_id=bank_id, min_cohort=2, **terms
    )

    early = http.get(f"/provision-requests/{pooled.id}/records", headers=auth(insurer_key))
    assert_problem(early, 409, "Data-ethics board decision required")
    board = http.get("/banks/me/board", headers=auth(bank_key)).json()
    assert [c["request_id"] for c in board] == [pooled.id]
    assert board[0]["explanation"]["ja"]["sensitive_items"] == ["健康診断結果"]
    decided = http.post(
        f"/banks/me/board/{pooled.id}/decision",
        headers=auth(bank_key),
        json={"approve": True, "reason": "公益性のある医療研究", "member": "委員長"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["request_status"] == "provided"
    rows = http.get(f"/provision-requests/{pooled.id}/records", headers=auth(insurer_key)).json()
    assert len(rows) == 2 and len({r["person_ref"] for r in rows}) == 2
    assert not {p for p, _ in people} & {r["person_ref"] for r in rows}

    # Self-control people: each request waits for the person; only approvals provide.
    direct_ids = []
    for person_id, _ in people[4:]:
        try:
            direct_ids.append(
                market.pds.open_direct_request(
                    recipient=insurer_row, person_id=person_id, **terms
                ).id
            )
        except Exception as refused:
            assert type(refused).__name__ == "PurposeNotAllowed"
    assert len(direct_ids) == 2  # persons 4 and 6 allow research.medical
    approver, decliner = people[4][1], people[6][1]
    pending = http.get("/me/requests", headers=auth(approver)).json()
    assert [r["id"] for r in pending] == [direct_ids[0]]
    assert "Sakura Life" in pending[0]["explanation"]["en"]["text"]
    assert pending[0]["explanation"]["ja"]["recipient"]["verification"] == "verified"
    approve = http.post(
        f"/me/requests/{direct_ids[0]}/decision", headers=auth(approver), json={"approve": True}
    )
    assert approve.json()["status"] == "provided", approve.text
    decline = http.post(
        f"/me/requests/{direct_ids[1]}/decision", headers=auth(decliner), json={"approve": False}
    )
    assert decline.json()["status"] == "declined"

    receipts = http.get("/me/consents", headers=auth(approver)).json()
    assert [(r["method"], r["receipt"]["schema_version"]) for r in receipts] == [
        ("explicit", "ISO/IEC TS 27560:2023")
    ]
    assert http.get("/me/consents", headers=auth(decliner)).json() == []
    delegated_receipts = http.get("/me/consents", headers=auth(people[0][1])).json()
    assert [r["method"] for r in delegated_receipts] == ["delegated"]
    booked = http.get("/me/provisions", headers=auth(insurer_key)).json()
    assert {b["side"] for b in booked} == {"recipient"} and len(booked) == 3
    assert all(b["consent_receipt_id"] for b in booked)


def test_refusals_are_named_problems_that_store_nothing(
    http: httpx.Client, operator_key: str, market: Market, settings: Settings
) -> None:
    person_id, token = signed_in_person(http, "Someone")
    _, api_key = register(http, "Key holder", "individual")
    body = {"purposes": ["research"], "categories": ["health_checkup"]}

    with_key = http.put("/me/conditions", headers=auth(api_key), json=body)
    assert_problem(with_key, 401, "Fresh sign-in required")
    # A unit of work: on SQLite it takes the write lock before reading, so a commit by the live
    # market in between (its outbox publisher) cannot fail the read-then-write at once.
    with db.unit_of_work(market.db) as s:
        row = s.exec(select(PersonSession).where(PersonSession.person_id == person_id)).one()
        row.authenticated_at = datetime.now(UTC) - timedelta(minutes=30)
        s.add(row)
    stale = http.put("/me/conditions", headers=auth(token), json=body)
    assert_problem(stale, 401, "Fresh sign-in required")
    assert count(market, ConditionsVersion) == 0
    again = http.post("/sessions/reauthenticate", headers=auth(token), json={"password": PASSWORD})
    assert again.status_code == 200, again.text

    _, minor = signed_in_person(http, "Minor")
    http.put("/me/account", headers=auth(minor), json={"birth_date": "2014-02-02"})
    refused = http.put("/me/conditions", headers=auth(minor), json=body)
    assert_problem(refused, 403, "Guardian confirmation required")
    assert count(market, ConditionsVersion) == 0

    bad = http.post(
        "/me/records",
        headers=auth(token),
        json={"category": "health_checkup", "data": {"checked_on": "x"}},
    )
    assert_problem(bad, 422, "Personal record rejected")
    assert "x" not in bad.json()["detail"].split(": ")[-1]
    assert count(market, PersonalRecord) == 0

    # Conditions that lapse between the request and the approval refuse the provision.
    http.post("/me/records", headers=auth(token), json=checkup(1))
    expiring = {**body, "expires_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat()}
    assert http.put("/me/conditions", headers=auth(token), json=expiring).status_code == 200
    buyer_id, _ = verified_buyer(http, operator_key, "Lab", recipient_category="research")
    buyer = participant(market, buyer_id)
    request = market.pds.open_direct_request(
        recipient=buyer,
        person_id=person_id,
        purpose="research.medical",
        categories=["health_checkup"],
        price_per_record_yen=100,
    )
    time.sleep(2.5)
    lapsed = http.post(
        f"/me/requests/{request.id}/decision", headers=auth(token), json={"approve": True}
    )
    assert_problem(lapsed, 403, "Conditions expired")
    assert count(market, ConsentReceipt) == count(market, ProvisionRecord) == 0


def test_bulk_import_and_the_category_catalogue(http: httpx.Client) -> None:
    _, token = signed_in_person(http, "Importer")
    csv = "recorded_at,latitude,longitude,place_name\n2026-05-01T09:00:00+09:00,35.0116,135.7681,京都駅\n"
    imported = http.post(
        "/me/records/import-csv",
        headers=auth(token),
        data={"category": "location_history"},
        files={"file": ("points.csv", csv.encode("cp932"), "text/csv")},
    )
    assert imported.status_code == 201 and imported.json()["stored"] == 1, imported.text
    portable = http.post(
        "/me/records/import",
        headers=auth(token),
        json={
            "format": "datamarket.pds/1",
            "records": [
                {
                    "category": "fitness_activity",
                    "data": {"recorded_on": "2026-05-01", "steps": 9000},
                }
            ],
        },
    )
    assert portable.status_code == 201, portable.text
    mine = http.get("/me/records", headers=auth(token)).json()
    assert sorted(r["category"] for r in mine) == ["fitness_activity", "location_history"]
    assert [r["data"]["place_name"] for r in mine if r["category"] == "location_history"] == [
        "京都駅"
    ]
    catalogue = {c["code"]: c for c in http.get("/categories").json()}
    assert (
        catalogue["health_checkup"]["sensitive"] and "properties" in catalogue["profile"]["schema"]
    )
