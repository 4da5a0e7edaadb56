"""People's data on the order book, over real HTTP: a bank's pooled listing judged per person,
people's own asks, the data-ethics board, cohort queries, per-record invoices, delivery through
licences, and every refusal as a named problem that provides nothing."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, func, select

from market.models import Bid, Invoice, JournalCommand
from market.personal.tables import ProvisionRecord
from market.service import Market
from market.settings import Settings

PROBLEM = "application/problem+json"
PASSWORD = "a long enough passphrase"
HEALTH = "pds.health_checkup/personal"
LOCATION = "pds.location_history/personal"
SECURITY = {"certifications": ["ISMS"], "encryption_at_rest": True, "retention_days": 730}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Person:
    id: str
    key: str
    session: str


def register(http: httpx.Client, name: str, kind: str, **extra: object) -> tuple[str, str]:
    response = http.post("/participants", json={"name": name, "kind": kind, **extra})
    assert response.status_code == 201, response.text
    return response.json()["participant"]["id"], response.json()["api_key"]


def buyer(http: httpx.Client, operator_key: str, name: str, **declared: object) -> tuple[str, str]:
    """A business the operator verified and granted credit."""
    buyer_id, key = register(http, name, "business", security_profile=SECURITY, **declared)
    for path, body in (
        ("credit", {"credit_limit_yen": 1_000_000, "reason": "test buyer"}),
        ("verification", {"verified": True, "reason": "register checked"}),
    ):
        done = http.put(
            f"/operator/participants/{buyer_id}/{path}", headers=auth(operator_key), json=body
        )
        assert done.status_code == 200, done.text
    return buyer_id, key


def person(http: httpx.Client, name: str) -> Person:
    person_id, key = register(http, name, "individual")
    assert (
        http.put("/me/password", headers=auth(key), json={"password": PASSWORD}).status_code == 204
    )
    signed = http.post("/sessions", json={"participant_id": person_id, "password": PASSWORD})
    assert signed.status_code == 201, signed.text
    return Person(person_id, key, signed.json()["token"])


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def conditions(http: httpx.Client, who: Person, **body: object) -> None:
    ok(http.put("/me/conditions", headers=auth(who.session), json=body))


def delegate(http: httpx.Client, who: Person, bank_id: str) -> None:
    ok(http.put("/me/delegation", headers=auth(who.session), json={"bank_id": bank_id}))


def pool_listing(
    http: httpx.Client,
    key: str,
    categories: list[str],
    price: int,
    purposes: list[str],
    **pool: int,
) -> dict[str, Any]:
    body = {
        "pool": {"categories": categories, **pool},
        "price_yen": price,
        "allowed_purposes": purposes,
    }
    return ok(http.post("/listings", headers=auth(key), json=body), 201)  # type: ignore[no-any-return]


def bid(http: httpx.Client, key: str, instrument: str, purpose: str, **extra: object) -> Any:
    return http.post(
        "/bids",
        headers=auth(key),
        json={"instrument": instrument, "purpose": purpose, **extra},
    )


def assert_problem(response: httpx.Response, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["title"] == title
    return response.json()  # type: ignore[no-any-return]


def cohort(http: httpx.Client, key: str, listing_id: str, purpose: str) -> dict[str, Any]:
    return ok(  # type: ignore[no-any-return]
        http.get(f"/listings/{listing_id}/cohort", headers=auth(key), params={"purpose": purpose})
    )


def rows_of(market: Market, table: type, **equals: object) -> int:
    with Session(market.db) as session:
        query = select(func.count()).select_from(table)
        for column, value in equals.items():
            query = query.where(getattr(table, column) == value)
        return int(session.exec(query).one())


def licence_of(http: httpx.Client, key: str, trade_id: str) -> dict[str, Any]:
    licences = ok(http.get("/licences", headers=auth(key)))
    return next(lic for lic in licences if lic["trade_id"] == trade_id)


def test_healthcare_pool_and_own_asks_trade_only_what_people_allow(
    http: httpx.Client, operator_key: str, settings: Settings
) -> None:
    market = Market(settings)
    bank_id, bank_key = register(http, "ヘルスデータ銀行", "info_bank")
    insurer_id, insurer_key = buyer(
        http, operator_key, "さくら生命", recipient_category="insurance", country="JP"
    )
    lab_id, lab_key = buyer(http, operator_key, "創薬ラボ", recipient_category="research")
    foreign_id, foreign_key = buyer(
        http, operator_key, "Global Re", recipient_category="insurance", country="US"
    )
    people = [person(http, f"person {i}") for i in range(20)]
    soon = datetime.now(UTC) + timedelta(seconds=2)
    later = datetime.now(UTC) + timedelta(days=365)
    for i, who in enumerate(people):
        ok(
            http.post(
                "/me/records",
                headers=auth(who.session),
                json={"category": "health_checkup", "data": {"checked_on": "2026-04-01"}},
            ),
            201,
        )
        # Half allow the insurer's purpose; recipient categories, abroad and expiry differ.
        conditions(
            http,
            who,
            purposes=["research.medical"] if i % 2 == 0 else ["health.care"],
            categories=["health_checkup"],
            allowed_recipient_categories=["research"] if i == 2 else ["insurance", "research"],
            denied_recipients=[insurer_id] if i == 14 else [],
            abroad_allowed=i == 4,
            expires_at=(soon if i == 6 else later).isoformat(),
        )
    delegated, own = people[:12], people[12:]
    for who in delegated:
        delegate(http, who, bank_id)
    pool = pool_listing(
        http, bank_key, ["health_checkup"], 300, ["research.medical", "health.care"], min_cohort=3
    )
    assert pool["instrument"] == HEALTH and pool["seller_kind"] == "info_bank"
    asks = {
        who.id: pool_listing(http, who.key, ["health_checkup"], 200, ["research", "health"])
        for who in own
    }
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)

    # Refusals before anything trades: each named, each storing no bid.
    bids_before = rows_of(market, Bid)
    denied = bid(http, insurer_key, HEALTH, "research.medical", max_price_yen=300,
                 dataset_id=asks[people[14].id]["dataset_id"])  # fmt: skip
    assert_problem(denied, 403, "Recipient denied")
    abroad = bid(http, foreign_key, HEALTH, "research.medical", max_price_yen=300,
                 dataset_id=asks[people[12].id]["dataset_id"])  # fmt: skip
    assert_problem(abroad, 403, "Provision abroad not allowed")
    assert cohort(http, foreign_key, pool["id"], "research.medical") == {
        "listing_id": pool["id"], "purpose": "research.medical", "min_cohort": 3,
        "below_minimum": True, "people": None,
    }  # fmt: skip
    small = bid(http, foreign_key, HEALTH, "research.medical", max_price_yen=300,
                dataset_id=pool["dataset_id"])  # fmt: skip
    assert_problem(small, 403, "Cohort below minimum")
    assert rows_of(market, Bid) == bids_before
    # A bid for any dataset is accepted, but the engine matches nothing the people do not allow.
    unmatched = ok(bid(http, foreign_key, HEALTH, "research.medical", max_price_yen=300,
                       quantity=5, time_in_force="IOC"), 201)  # fmt: skip
    assert unmatched["trades"] == []

    # People 0, 4, 8 and 10 cover the insurer (2 names research only, 6 expired).
    before = cohort(http, insurer_key, pool["id"], "research.medical")
    assert before["people"] == 4 and before["below_minimum"] is False
    placed = ok(bid(http, insurer_key, HEALTH, "research.medical", max_price_yen=300,
                    quantity=10), 201)  # fmt: skip
    trades = {t["listing_id"]: t for t in placed["trades"]}
    # The pool and the own asks of 12, 16 and 18 (14 denies the insurer; odd ones other purposes).
    expected = {pool["id"]} | {asks[people[i].id]["id"] for i in (12, 16, 18)}
    assert set(trades) == expected
    assert trades[pool["id"]]["seller_id"] == bank_id
    for i in (12, 16, 18):
        shown = trades[asks[people[i].id]["id"]]["seller_id"]
        assert shown.startswith("p_") and shown != people[i].id
    # Provisional until decided: nothing delivered, nothing invoiced.
    assert all(t["quantity"] == 0 for t in placed["trades"])
    assert ok(http.get("/invoices", headers=auth(insurer_key))) == []
    pool_licence = licence_of(http, insurer_key, trades[pool["id"]]["id"])
    early = http.get(f"/licences/{pool_licence['id']}/records", headers=auth(insurer_key))
    assert_problem(early, 409, "Data-ethics board decision required")
    assert rows_of(market, ProvisionRecord, recipient_id=insurer_id) == 0

    board = ok(http.get("/banks/me/board", headers=auth(bank_key)))
    assert [c["recipient_id"] for c in board] == [insurer_id]
    decided = ok(http.post(
        f"/banks/me/board/{board[0]['request_id']}/decision", headers=auth(bank_key),
        json={"approve": True, "reason": "医療研究として公益性あり", "member": "委員長"},
    ))  # fmt: skip
    assert decided["request_status"] == "provided"
    for i, approve in ((12, True), (16, False), (18, True)):
        [pending] = ok(http.get("/me/requests", headers=auth(people[i].session)))
        assert pending["recipient_id"] == insurer_id and pending["explanation"]["ja"]["text"]
        ok(http.post(f"/me/requests/{pending['id']}/decision",
                     headers=auth(people[i].session), json={"approve": approve}))  # fmt: skip

    rows = ok(http.get(f"/licences/{pool_licence['id']}/records", headers=auth(insurer_key)))
    refs = {r["person_ref"] for r in rows}
    assert len(rows) == len(refs) == before["people"]
    assert not refs & {p.id for p in people}
    provided = {r.person_id for r in _provisions(market, insurer_id)}
    assert provided == {people[i].id for i in (0, 4, 8, 10, 12, 18)}
    for i in (12, 18):
        own_licence = licence_of(http, insurer_key, trades[asks[people[i].id]["id"]]["id"])
        [row] = ok(http.get(f"/licences/{own_licence['id']}/records", headers=auth(insurer_key)))
        assert row["person_ref"] == trades[asks[people[i].id]["id"]]["seller_id"]
    declined = licence_of(http, insurer_key, trades[asks[people[16].id]["id"]]["id"])
    assert declined["revoked_at"] is not None
    assert_problem(
        http.get(f"/licences/{declined['id']}/records", headers=auth(insurer_key)),
        403,
        "Declined by the person",
    )
    # Invoiced per record delivered: 4 x 300 for the pool, 200 for each approved own ask.
    purchases = {t["listing_id"]: t for t in ok(http.get("/purchases", headers=auth(insurer_key)))}
    assert purchases[pool["id"]]["quantity"] == 4
    assert purchases[asks[people[16].id]["id"]]["quantity"] == 0
    invoiced = sorted(
        i["net_yen"] if "net_yen" in i else i["amount_yen"]
        for i in ok(http.get("/invoices", headers=auth(insurer_key)))
    )
    assert invoiced == [200, 200, 1200]
    # Each person sees the provision of their data; the ones not allowed see none.
    assert len(ok(http.get("/me/provisions", headers=auth(people[0].session)))) == 1
    for i in (2, 6, 14, 16):
        assert ok(http.get("/me/provisions", headers=auth(people[i].session))) == []

    # The board rejects a research lab's trade: the reason reaches the lab, nothing is provided.
    assert cohort(http, lab_key, pool["id"], "research.medical")["people"] == 5
    lab_trade = ok(bid(http, lab_key, HEALTH, "research.medical", max_price_yen=300,
                       dataset_id=pool["dataset_id"]), 201)["trades"][0]  # fmt: skip
    [case] = ok(http.get("/banks/me/board", headers=auth(bank_key)))
    ok(http.post(f"/banks/me/board/{case['request_id']}/decision", headers=auth(bank_key),
                 json={"approve": False, "reason": "研究計画の倫理審査が未了"}))  # fmt: skip
    lab_licence = licence_of(http, lab_key, lab_trade["id"])
    rejected = http.get(f"/licences/{lab_licence['id']}/records", headers=auth(lab_key))
    assert (
        "研究計画の倫理審査が未了"
        in assert_problem(rejected, 403, "Rejected by the data-ethics board")["detail"]
    )
    assert lab_licence["revoked_at"] is not None
    assert ok(http.get("/invoices", headers=auth(lab_key))) == []
    assert rows_of(market, ProvisionRecord, recipient_id=lab_id) == 0
    assert rows_of(market, Invoice, buyer_id=foreign_id) == 0
    # The rejection and the person's decline each voided their trade in the order book with a
    # journaled command (replayed on every restart).
    unwound = {c["seq"] for c in _journal(market) if c["op"] == "unwind"}
    assert unwound == {lab_trade["seq"], trades[asks[people[16].id]["id"]]["seq"]}
    market.close()


def test_tourism_pool_opens_when_enough_people_allow_and_a_resting_bid_then_trades(
    http: httpx.Client, operator_key: str, settings: Settings
) -> None:
    market = Market(settings)
    bank_id, bank_key = register(http, "観光データ銀行", "info_bank")
    agency_id, agency_key = buyer(http, operator_key, "京都観光協会", recipient_category="tourism")
    people = [person(http, f"traveller {i}") for i in range(6)]
    for i, who in enumerate(people):
        ok(http.post("/me/records/import", headers=auth(who.session), json={
            "format": "datamarket.pds/1",
            "records": [
                {"category": "location_history", "data": {
                    "recorded_at": f"2026-05-0{day}T09:00:00+09:00",
                    "latitude": 35.0 + i / 100, "longitude": 135.7, "place_name": "京都駅"}}
                for day in (1, 2)
            ],
        }), 201)  # fmt: skip
        conditions(
            http,
            who,
            purposes=["tourism.promotion"],
            categories=["location_history"],
            allowed_recipient_categories=["tourism"],
            # The last allows anonymized provision only: never in an identifiable pool.
            anonymized_only=i == 5,
        )
    for who in people[:4]:
        delegate(http, who, bank_id)
    pool = pool_listing(http, bank_key, ["location_history"], 50, ["tourism"], min_cohort=5)
    assert pool["instrument"] == LOCATION
    assert cohort(http, agency_key, pool["id"], "tourism.promotion")["below_minimum"] is True
    resting = ok(bid(http, agency_key, LOCATION, "tourism.promotion", max_price_yen=50), 201)
    assert resting["trades"] == [] and resting["bid"]["status"] == "open"

    # A fifth person delegating pushes new terms to the engine: the resting bid trades at once.
    delegate(http, people[5], bank_id)
    assert ok(http.get("/purchases", headers=auth(agency_key))) == []
    delegate(http, people[4], bank_id)
    [trade] = ok(http.get("/purchases", headers=auth(agency_key)))
    assert trade["listing_id"] == pool["id"] and trade["quantity"] == 10
    after = cohort(http, agency_key, pool["id"], "tourism.promotion")
    licence = licence_of(http, agency_key, trade["id"])
    rows = ok(http.get(f"/licences/{licence['id']}/records", headers=auth(agency_key)))
    assert len(rows) == 10 and all(r["category"] == "location_history" for r in rows)
    assert len({r["person_ref"] for r in rows}) == after["people"] == 5
    provided = {r.person_id for r in _provisions(market, agency_id)}
    assert provided == {p.id for p in people[:5]}
    [invoice] = ok(http.get("/invoices", headers=auth(agency_key)))
    assert invoice["trade_id"] == trade["id"]
    assert invoice.get("net_yen", invoice["amount_yen"]) == 500
    market.close()


def location_records(http: httpx.Client, who: Person, i: int) -> None:
    ok(http.post("/me/records/import", headers=auth(who.session), json={
        "format": "datamarket.pds/1",
        "records": [
            {"category": "location_history", "data": {
                "recorded_at": f"2026-05-0{day}T09:00:00+09:00",
                "latitude": 35.0 + i / 100, "longitude": 135.7, "place_name": "京都駅"}}
            for day in (1, 2)
        ],
    }), 201)  # fmt: skip


def test_tourism_location_history_through_a_second_bank_and_peoples_own_asks(
    http: httpx.Client, operator_key: str, settings: Settings
) -> None:
    market = Market(settings)
    first_bank_id, first_bank_key = register(http, "ヘルスデータ銀行", "info_bank")
    bank_id, bank_key = register(http, "観光データ銀行", "info_bank")
    agency_id, agency_key = buyer(
        http, operator_key, "京都観光協会", recipient_category="tourism", country="JP"
    )
    overseas_id, overseas_key = buyer(
        http, operator_key, "Global Travel", recipient_category="tourism", country="US"
    )
    railway_id, railway_key = buyer(
        http, operator_key, "嵐山鉄道", recipient_category="tourism", country="JP"
    )
    people = [person(http, f"traveller {i}") for i in range(10)]
    soon = datetime.now(UTC) + timedelta(seconds=2)
    for i, who in enumerate(people):
        location_records(http, who, i)
        # 3 allows another purpose, 4 denies the agency, 5's conditions run out before the bid.
        conditions(
            http,
            who,
            purposes=["research.statistics"] if i == 3 else ["tourism.promotion"],
            categories=["location_history"],
            allowed_recipient_categories=["tourism"],
            denied_recipients=[agency_id] if i == 4 else [],
            **({"expires_at": soon.isoformat()} if i == 5 else {}),
        )
    # 0-5 delegate to the tourism bank, 6 and 7 to the first bank, 8 and 9 keep self-control.
    for who in people[:6]:
        delegate(http, who, bank_id)
    for who in people[6:8]:
        delegate(http, who, first_bank_id)
    # The tourism bank's pool serves no railway company, whatever its people allow.
    pool = ok(http.post("/listings", headers=auth(bank_key), json={
        "pool": {"categories": ["location_history"], "min_cohort": 3}, "price_yen": 50,
        "allowed_purposes": ["tourism"], "denied_recipients": [railway_id],
    }), 201)  # fmt: skip
    assert pool["instrument"] == LOCATION
    first_pool = pool_listing(
        http, first_bank_key, ["location_history"], 50, ["tourism"], min_cohort=3
    )
    asks = {
        i: pool_listing(http, people[i].key, ["location_history"], 40, ["tourism"]) for i in (8, 9)
    }
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.2)

    # Refusals: the bank's own denial, abroad, a cohort below the minimum; no bid is stored.
    bids_before = rows_of(market, Bid)
    assert cohort(http, railway_key, pool["id"], "tourism.promotion")["below_minimum"] is True
    denied = bid(http, railway_key, LOCATION, "tourism.promotion", max_price_yen=50,
                 dataset_id=pool["dataset_id"])  # fmt: skip
    assert_problem(denied, 403, "Recipient denied")
    abroad = bid(http, overseas_key, LOCATION, "tourism.promotion", max_price_yen=50,
                 dataset_id=asks[8]["dataset_id"])  # fmt: skip
    assert_problem(abroad, 403, "Provision abroad not allowed")
    assert cohort(http, overseas_key, pool["id"], "tourism.promotion")["below_minimum"] is True
    small = bid(http, agency_key, LOCATION, "tourism.promotion", max_price_yen=50,
                dataset_id=first_pool["dataset_id"])  # fmt: skip
    assert_problem(small, 403, "Cohort below minimum")
    assert rows_of(market, Bid) == bids_before

    # People 0, 1 and 2 cover the agency in the tourism bank's pool (3-5 do not; 6 and 7 are
    # the first bank's, whose pool of two stays below its minimum).
    before = cohort(http, agency_key, pool["id"], "tourism.promotion")
    assert before["people"] == 3 and before["below_minimum"] is False
    placed = ok(bid(http, agency_key, LOCATION, "tourism.promotion", max_price_yen=50,
                    quantity=10), 201)  # fmt: skip
    trades = {t["listing_id"]: t for t in placed["trades"]}
    assert set(trades) == {pool["id"], asks[8]["id"], asks[9]["id"]}
    assert trades[pool["id"]]["seller_id"] == bank_id
    # Location history is not 要配慮: the pool provides at once; own asks wait for the person.
    assert trades[pool["id"]]["quantity"] == 6
    for i, approve in ((8, True), (9, False)):
        [pending] = ok(http.get("/me/requests", headers=auth(people[i].session)))
        assert pending["explanation"]["en"]["text"] and pending["explanation"]["ja"]["text"]
        ok(http.post(f"/me/requests/{pending['id']}/decision",
                     headers=auth(people[i].session), json={"approve": approve}))  # fmt: skip

    licence = licence_of(http, agency_key, trades[pool["id"]]["id"])
    rows = ok(http.get(f"/licences/{licence['id']}/records", headers=auth(agency_key)))
    assert len(rows) == 6 and all(r["category"] == "location_history" for r in rows)
    assert len({r["person_ref"] for r in rows}) == before["people"]
    provided = {r.person_id for r in _provisions(market, agency_id)}
    assert provided == {people[i].id for i in (0, 1, 2, 8)}
    assert rows_of(market, ProvisionRecord, recipient_id=railway_id) == 0
    assert rows_of(market, ProvisionRecord, recipient_id=overseas_id) == 0
    # The declined own ask was unwound in the order book by a journaled command.
    declined = trades[asks[9]["id"]]
    assert licence_of(http, agency_key, declined["id"])["revoked_at"] is not None
    unwound = [c for c in _journal(market) if c["op"] == "unwind"]
    assert [(c["seq"], c["sell_id"]) for c in unwound] == [(declined["seq"], asks[9]["id"])]
    invoiced = sorted(
        i.get("net_yen", i["amount_yen"])
        for i in ok(http.get("/invoices", headers=auth(agency_key)))
    )
    assert invoiced == [80, 300]
    for i in (3, 4, 5, 6, 7, 9):
        assert ok(http.get("/me/provisions", headers=auth(people[i].session))) == []
    market.close()


def _journal(market: Market) -> list[dict[str, Any]]:
    with Session(market.db) as session:
        rows = session.exec(select(JournalCommand).order_by(col(JournalCommand.seq))).all()
        return [row.payload for row in rows]


def _provisions(market: Market, recipient_id: str) -> list[ProvisionRecord]:
    with Session(market.db) as session:
        query = select(ProvisionRecord).where(
            ProvisionRecord.recipient_id == recipient_id, ProvisionRecord.side == "provider"
        )
        return list(session.exec(query))
