"""Ratings, credibility and requoting over HTTP, against a market whose engine the test can read.

Issue 13's Done-when: a seller lists two datasets of one instrument with different measured
quality; a bid with a minimum quality matches only the better one; the buyer rates the delivery;
the seller's credibility and the score of its other listing change, and the resting ask keeps its
queue place (its arrival number, and its place behind earlier asks of the same price and score).
"""

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import Session, col, select

from api.app import create_app
from market import db
from market.models import Bid, Dataset, JournalCommand, Licence, OutboxEvent, Trade
from market.participants import register_participant
from market.ratings.tables import Rating
from market.revisions.tables import DatasetRevision
from market.service import Market
from market.settings import Settings
from tests.e2e.test_market_slice import PROBLEM, auth, participant_id, register, register_buyer

INSTRUMENT = "mobility.traffic/non_personal"


def table(*, missing: int = 0, duplicate: bool = False, columns: str = "abcde") -> bytes:
    """10 distinct records of 5 columns; `missing` cells of the last column emptied and the last
    record made a copy of the one before when `duplicate`."""
    rows = [[f"{c}{i}" for c in columns] for i in range(10)]
    for i in range(missing):
        rows[i][-1] = ""
    if duplicate:
        rows[9] = list(rows[8])
    return "\n".join([",".join(columns), *(",".join(r) for r in rows)]).encode() + b"\n"


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[httpx.Client, Market, str]]:
    """A live server around a market the test holds, and an operator's key."""
    market = Market(settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, market=market), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the market server did not start")
        time.sleep(0.05)
    try:
        with db.unit_of_work(market.db) as session:
            _, operator_key = register_participant(session=session, name="Ops", kind="operator")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, market, operator_key
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        market.close()


def list_dataset(http: httpx.Client, key: str, raw: bytes, title: str) -> tuple[str, str, int]:
    """Upload and list at ¥5,000, unlimited licences; (dataset id, listing id, quality score)."""
    uploaded = http.post(
        "/datasets",
        headers=auth(key),
        data={"title": title, "category": "mobility.traffic", "data_class": "non_personal"},
        files={"file": ("d.csv", raw, "text/csv")},
    )
    assert uploaded.status_code == 201, uploaded.text
    dataset = uploaded.json()
    listing = http.post(
        "/listings",
        headers=auth(key),
        json={
            "dataset_id": dataset["id"],
            "price_yen": 5_000,
            "licence_count": None,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    return dataset["id"], listing.json()["id"], dataset["quality_score"]


def resting_asks(market: Market) -> list[tuple[str, int, int]]:
    """The instrument's asks in the engine's priority order: (id, quality, arrival number)."""
    book = market.orders.trading.engine.books[INSTRUMENT]
    return [(o.id, o.quality, o.seq) for o in book.live_orders() if not o.is_buy]


def score(http: httpx.Client, key: str, dataset_id: str) -> dict[str, Any]:
    response = http.get(f"/datasets/{dataset_id}/quality", headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_paid_rating_moves_credibility_and_requotes_the_resting_ask_keeping_its_place(
    served: tuple[httpx.Client, Market, str],
) -> None:
    http, market, operator_key = served
    seller = register(http, "東都センサー")
    rival = register(http, "西都センサー")
    buyer = register_buyer(http, operator_key, "Buyer Lab", recipient_category="research")
    seller_id = participant_id(http, seller)

    # Seller: a complete table (100) and one with 2 of 50 cells missing (97); a rival lists the
    # same 97 and a 90 (5 missing cells, one duplicate record) after them.
    better_id, better, better_score = list_dataset(http, seller, table(), "complete")
    other_id, other, other_score = list_dataset(http, seller, table(missing=2), "gappy")
    _, rival_97, _ = list_dataset(http, rival, table(missing=2), "rival 97")
    _, rival_90, rival_score = list_dataset(http, rival, table(missing=5, duplicate=True), "r90")
    assert (better_score, other_score, rival_score) == (100, 97, 90)
    before = resting_asks(market)
    assert [a[0] for a in before] == [better, other, rival_97, rival_90]

    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={
            "instrument": INSTRUMENT,
            "max_price_yen": 5_000,
            "purpose": "research.academic",
            "min_quality": 98,
        },
    )
    assert bid.status_code == 201, bid.text
    trades = bid.json()["trades"]
    assert [(t["listing_id"], t["dataset_id"]) for t in trades] == [(better, better_id)]
    licence = http.get("/licences", headers=auth(buyer)).json()[0]

    # Ratings come from paying buyers: an unpaid invoice is refused and stores nothing.
    unpaid = http.post(f"/licences/{licence['id']}/rating", headers=auth(buyer), json={"stars": 5})
    assert unpaid.status_code == 409 and unpaid.headers["content-type"] == PROBLEM
    assert "paid" in unpaid.json()["detail"]
    with Session(market.db) as session:
        assert session.exec(select(Rating)).all() == []
    invoice = http.get("/invoices", headers=auth(buyer)).json()[0]
    paid = http.post(
        f"/operator/invoices/{invoice['id']}/paid",
        headers=auth(operator_key),
        json={"reference": "MUFG #1"},
    )
    assert paid.status_code == 200, paid.text
    with Session(market.db) as session:
        journaled = session.exec(
            select(JournalCommand.seq).order_by(col(JournalCommand.seq).desc())
        )
        last_seq = journaled.first() or 0

    rated = http.post(
        f"/licences/{licence['id']}/rating",
        headers=auth(buyer),
        json={"stars": 5, "comment": "clean and on time"},
    )
    assert rated.status_code == 201, rated.text
    assert rated.json()["paid_yen"] == invoice["amount_yen"] == 5_500
    again = http.post(f"/licences/{licence['id']}/rating", headers=auth(buyer), json={"stars": 1})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM

    # Credibility: (¥10,000 × 50 + ¥5,500 × 100) / ¥15,500 = 67.74.
    credibility = http.get(f"/sellers/{seller_id}/credibility", headers=auth(rival)).json()
    assert credibility["status"] == "measured"
    assert credibility["score"] == pytest.approx(67.74, abs=0.01)
    assert credibility["stars"]["5"] == 1 and "clean" not in str(credibility)

    # The other listing's dataset: (20 × 96 + 10 × 100 + 10 × 67.74) / 40 = 89.94 → 90.
    other_quality = score(http, seller, other_id)
    assert other_quality["score"] == 90
    component = {c["name"]: c for c in other_quality["components"]}["credibility"]
    assert component["status"] == "measured" and component["score"] == pytest.approx(67.74)
    assert score(http, seller, better_id)["score"] == 92

    # The resting asks were updated through the engine, journaled, keeping their arrival
    # numbers: the 90 keeps its place ahead of the rival's later 90.
    after = resting_asks(market)
    assert [a[0] for a in after] == [rival_97, better, other, rival_90]
    assert {a[0]: a[2] for a in after} == {a[0]: a[2] for a in before}
    assert {a[0]: a[1] for a in after}[other] == 90
    with Session(market.db) as session:
        rows = session.exec(
            select(JournalCommand)
            .where(col(JournalCommand.seq) > last_seq)
            .order_by(col(JournalCommand.seq))
        ).all()
    updates = [r.payload for r in rows if r.payload.get("op") == "update"]
    assert [(u["id"], u["quality"]) for u in updates] == [(better, 92), (other, 90)]

    listed = http.get(f"/listings/{other}", headers=auth(buyer)).json()
    assert listed["quality_score"] == 90


def test_only_the_licence_holder_rates_and_stars_are_one_to_five(
    served: tuple[httpx.Client, Market, str],
) -> None:
    http, _, _ = served
    stranger = register(http, "Stranger")
    missing = http.post(
        f"/licences/{uuid.uuid4().hex}/rating", headers=auth(stranger), json={"stars": 3}
    )
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    for stars in (0, 6, "5", 4.5):
        bad = http.post(
            f"/licences/{uuid.uuid4().hex}/rating", headers=auth(stranger), json={"stars": stars}
        )
        assert bad.status_code == 422


def bid_for(http: httpx.Client, key: str, **extra: Any) -> httpx.Response:
    body = {"instrument": INSTRUMENT, "max_price_yen": 5_000, "purpose": "research.academic"}
    return http.post("/bids", headers=auth(key), json=body | extra)


def test_linkable_data_is_flagged_and_sold_only_to_a_bid_confirming_consent(
    served: tuple[httpx.Client, Market, str],
) -> None:
    http, market, operator_key = served
    seller = register(http, "広告計測")
    buyer = register_buyer(http, operator_key, "Buyer Lab", recipient_category="research")
    rows = [
        f"{uuid.UUID(int=i * 7919 + 1)},{35 + i / 1000:.5f},{139 + i / 1000:.5f},{i}"
        for i in range(20)
    ]
    raw = ("device_id,緯度,経度,来店数\n" + "\n".join(rows) + "\n").encode()
    dataset_id, listing_id, _ = list_dataset(http, seller, raw, "来店計測")
    with Session(market.db) as session:
        stored = session.get(Dataset, dataset_id)
        assert stored is not None and stored.linkable_columns == ["device_id", "緯度", "経度"]
    assert http.get(f"/listings/{listing_id}", headers=auth(buyer)).json()["linkable"] is True

    unconfirmed = bid_for(http, buyer, time_in_force="IOC")
    assert unconfirmed.status_code == 201, unconfirmed.text
    assert unconfirmed.json()["trades"] == []
    confirmed = bid_for(http, buyer, confirms_linkable_consent=True)
    assert [t["listing_id"] for t in confirmed.json()["trades"]] == [listing_id]
    with Session(market.db) as session:
        trade = session.get(Trade, confirmed.json()["trades"][0]["id"])
        assert trade is not None and trade.linkable_consent is True
        bid = session.get(Bid, confirmed.json()["bid"]["id"])
        assert bid is not None and bid.constraints["confirms_linkable_consent"] is True


def test_a_revision_is_rescored_requoted_and_announced_to_the_holders_it_covers(
    served: tuple[httpx.Client, Market, str],
) -> None:
    http, market, operator_key = served
    seller = register(http, "東都センサー")
    keeper = register_buyer(http, operator_key, "Keeps updates", recipient_category="research")
    once = register_buyer(http, operator_key, "Buys once", recipient_category="research")
    dataset_id, listing_id, first_score = list_dataset(http, seller, table(missing=2), "gappy")
    # The updates listing: the same data, licences covering revisions published in their term.
    updates_id, updates_listing, _ = list_dataset(http, seller, table(missing=2), "updates")
    coverage = http.put(
        f"/listings/{updates_listing}/coverage", headers=auth(seller), json={"covers": "updates"}
    )
    assert coverage.status_code == 200, coverage.text
    assert bid_for(http, once, dataset_id=dataset_id).json()["trades"]
    assert bid_for(http, keeper, dataset_id=updates_id).json()["trades"]
    refused = http.put(
        f"/listings/{updates_listing}/coverage", headers=auth(seller), json={"covers": "revision"}
    )
    assert refused.status_code == 409
    # Holding revision 1, a second licence of it for the same purpose is refused.
    duplicate = bid_for(http, once, dataset_id=dataset_id)
    assert duplicate.status_code == 409 and "revision 1" in duplicate.json()["detail"]
    arrival = {a[0]: a[2] for a in resting_asks(market)}

    with Session(market.db) as session:
        last_event = session.exec(select(OutboxEvent.id).order_by(col(OutboxEvent.id).desc()))
        since = last_event.first() or 0
    for target in (dataset_id, updates_id):
        published = http.post(
            f"/datasets/{target}/revisions",
            headers=auth(seller),
            data={"note": "gaps filled"},
            files={"file": ("d.csv", table(), "text/csv")},
        )
        assert published.status_code == 201, published.text
        assert (published.json()["number"], published.json()["quality_score"]) == (2, 100)
    revisions = http.get(f"/datasets/{dataset_id}/revisions", headers=auth(seller)).json()
    assert [(r["number"], r["quality_score"]) for r in revisions] == [(1, first_score), (2, 100)]
    assert http.get(f"/datasets/{dataset_id}/revisions", headers=auth(once)).status_code == 200

    # The resting asks carry the new score, at their old arrival numbers.
    after = {a[0]: (a[1], a[2]) for a in resting_asks(market)}
    assert after[listing_id] == (100, arrival[listing_id])
    assert after[updates_listing] == (100, arrival[updates_listing])
    # Only the holder whose licence covers updates hears of the new revision.
    with Session(market.db) as session:
        events = session.exec(
            select(OutboxEvent).where(
                col(OutboxEvent.id) > since, OutboxEvent.type == "RevisionPublished"
            )
        ).all()
    assert [(e.payload["dataset_id"], e.payload["revision"]) for e in events] == [(updates_id, 2)]
    assert events[0].payload["buyer_id"] == participant_id(http, keeper)
    # Revision 2 is a new licence for the buyer of revision 1 only; the updates holder has it.
    again = bid_for(http, once, dataset_id=dataset_id)
    assert again.status_code == 201 and again.json()["trades"], again.text
    assert bid_for(http, keeper, dataset_id=updates_id).status_code == 409
    with Session(market.db) as session:
        licences = session.exec(
            select(Licence).where(Licence.dataset_id == dataset_id).order_by(col(Licence.revision))
        ).all()
    assert [lic.revision for lic in licences] == [1, 2]


def test_only_the_seller_publishes_a_revision_and_a_bad_file_stores_nothing(
    served: tuple[httpx.Client, Market, str],
) -> None:
    http, market, _ = served
    seller = register(http, "Seller")
    other = register(http, "Other")
    dataset_id, _, _ = list_dataset(http, seller, table(), "complete")
    files = {"file": ("d.csv", table(), "text/csv")}
    foreign = http.post(f"/datasets/{dataset_id}/revisions", headers=auth(other), files=files)
    assert foreign.status_code == 404 and foreign.headers["content-type"] == PROBLEM
    bad = http.post(
        f"/datasets/{dataset_id}/revisions",
        headers=auth(seller),
        files={"file": ("d.csv", b"a,b\n1,2,3\n", "text/csv")},
    )
    assert bad.status_code == 422
    with Session(market.db) as session:
        assert session.exec(select(DatasetRevision)).all() == []
    revisions = http.get(f"/datasets/{dataset_id}/revisions", headers=auth(seller)).json()
    assert [r["number"] for r in revisions] == [1]
