"""Bulk order entry (issue 14, item 4): `POST /orders/batch` over real HTTP."""

import httpx
from sqlmodel import Session, select

from market import db
from market.errors import CreditLimitExceeded
from market.models import Bid, IdempotencyRecord, Listing
from market.settings import Settings
from tests.e2e.test_market_slice import auth, open_instrument, register, register_buyer, upload

INSTRUMENT = "mobility.traffic/non_personal"
PURPOSE = "research.academic"


def _bid(cid: str, price: int, **extra: object) -> dict[str, object]:
    return {
        "action": "bid",
        "client_order_id": cid,
        "instrument": INSTRUMENT,
        "max_price_yen": price,
        "purpose": PURPOSE,
        **extra,
    }


def _stored(settings: Settings, model: type) -> list:  # type: ignore[type-arg]
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(model)).all())
    finally:
        engine.dispose()


def test_a_batch_answers_each_order_in_order_and_a_retry_repeats_nothing(
    http: httpx.Client, operator_key: str, settings: Settings
) -> None:
    open_instrument(http, operator_key, INSTRUMENT)
    seller = register(http, "Sensors KK")
    dataset = upload(http, seller, b"sensor_id,reading\nS1,1\nS2,2\n").json()["id"]
    buyer = register_buyer(http, operator_key, "Buyer KK", credit_yen=100_000)

    asks = http.post(
        "/orders/batch",
        headers=auth(seller),
        json={
            "orders": [
                {
                    "action": "ask",
                    "client_order_id": "ask-1",
                    "dataset_id": dataset,
                    "price_yen": 1_000,
                    "allowed_purposes": ["research"],
                }
            ]
        },
    )
    assert asks.status_code == 200, asks.text
    [ask] = asks.json()["results"]
    assert ask["status"] == "accepted" and ask["order_id"]

    orders = [
        _bid("b-1", 500),  # rests
        _bid("b-2", 1_000),  # trades with the ask
        _bid("b-3", 2_000_000),  # beyond the buyer's credit: refused, nothing stored
        _bid("b-4", 600, instrument="no.such/non_personal"),  # unknown instrument: refused
    ]
    first = http.post("/orders/batch", headers=auth(buyer), json={"orders": orders[:3]})
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["client_order_id"] for r in results] == ["b-1", "b-2", "b-3"]
    assert [r["status"] for r in results] == ["accepted", "traded", "rejected"]
    assert results[1]["trades"][0]["price_yen"] == 1_000
    assert results[2]["problem"]["status"] == CreditLimitExceeded.status
    assert results[2]["order_id"] is None

    bids_after_first = {b.id for b in _stored(settings, Bid)}
    assert bids_after_first == {results[0]["order_id"], results[1]["order_id"]}

    # A retry of the same ids with one new cancel: the old ones answered, not repeated.
    cancel = {
        "action": "cancel",
        "client_order_id": "c-1",
        "side": "bid",
        "order_id": results[0]["order_id"],
    }
    retry = http.post("/orders/batch", headers=auth(buyer), json={"orders": [*orders[:2], cancel]})
    assert retry.status_code == 200, retry.text
    again = retry.json()["results"]
    assert [r["replayed"] for r in again] == [True, True, False]
    assert [r["order_id"] for r in again[:2]] == [r["order_id"] for r in results[:2]]
    assert again[2]["status"] == "cancelled"
    assert {b.id for b in _stored(settings, Bid)} == bids_after_first
    statuses = {b.id: b.status for b in _stored(settings, Bid)}
    assert statuses[results[0]["order_id"]] == "cancelled"

    # An id reused for a different order is refused, and the first order stays as it was.
    reused = http.post("/orders/batch", headers=auth(buyer), json={"orders": [_bid("b-1", 999)]})
    assert reused.json()["results"][0]["status"] == "rejected"
    assert reused.json()["results"][0]["problem"]["status"] == 409
    assert {b.id for b in _stored(settings, Bid)} == bids_after_first

    # An order the market refuses is answered with its reason and stores nothing.
    unknown = http.post("/orders/batch", headers=auth(buyer), json={"orders": [orders[3]]})
    [refused] = unknown.json()["results"]
    assert refused["status"] == "rejected" and refused["problem"]["status"] == 422
    assert "no.such/non_personal" in refused["problem"]["detail"]

    # A malformed order fails the whole request at validation (422), before anything runs.
    malformed = [_bid("b-5", 100), _bid("b-6", 100, purpose="no.such.purpose")]
    invalid = http.post("/orders/batch", headers=auth(buyer), json={"orders": malformed})
    assert invalid.status_code == 422
    assert "no.such.purpose" in invalid.json()["detail"]
    assert invalid.headers["content-type"].startswith("application/problem+json")
    assert len(_stored(settings, Listing)) == 1
    keys = {r.key for r in _stored(settings, IdempotencyRecord)}
    assert keys == {"order:ask-1", "order:b-1", "order:b-2", "order:c-1"}


def test_a_batch_over_the_limit_or_empty_is_refused(http: httpx.Client, operator_key: str) -> None:
    buyer = register_buyer(http, operator_key, "Buyer KK")
    too_many = [_bid(f"b-{i}", 100) for i in range(1_001)]
    for orders in (too_many, []):
        response = http.post("/orders/batch", headers=auth(buyer), json={"orders": orders})
        assert response.status_code == 422, response.text
