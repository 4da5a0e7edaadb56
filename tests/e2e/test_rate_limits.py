"""Rate limits over real HTTP (issue 9, item 3): 429 problem+json with Retry-After, nothing stored."""

import httpx
import pytest

from market.ratelimit import RateLimit
from market.settings import Settings
from tests.e2e.test_market_slice import auth, register, upload

PROBLEM = "application/problem+json"
SLOW = 0.001  # a token every 1,000 s: nothing refills during a test


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit_registration": RateLimit(per_second=SLOW, burst=4),
            "rate_limit_auth_failures": RateLimit(per_second=SLOW, burst=5),
            "rate_limit_order_entry": RateLimit(per_second=SLOW, burst=3),
            "rate_limit_uploads": RateLimit(per_second=SLOW, burst=2),
        }
    )


def assert_limited(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert int(response.headers["retry-after"]) >= 1
    assert what in response.json()["detail"]


def test_registration_is_limited_per_address(http: httpx.Client) -> None:
    for number in range(4):
        register(http, f"Sensor {number}")
    refused = http.post("/participants", json={"name": "One too many", "kind": "business"})
    assert_limited(refused, "registrations from your address")


def test_wrong_key_guesses_are_throttled_even_for_the_right_key(http: httpx.Client) -> None:
    key = register(http, "Owner")
    key_id = key.split("_")[1]
    statuses = [
        http.get("/me", headers=auth(f"dm_{key_id}_guess{n}")).status_code for n in range(5)
    ]
    assert statuses == [401] * 5
    assert_limited(
        http.get("/me", headers=auth(f"dm_{key_id}_guess6")), "wrong API key or password"
    )
    assert_limited(http.get("/me", headers=auth(key)), "wrong API key or password")
    # Requests without credentials are not what is throttled.
    assert http.get("/health").status_code == 200


def test_order_entry_is_limited_per_participant_counting_cancels(http: httpx.Client) -> None:
    seller = register(http, "Busy seller")
    dataset = upload(http, seller, b"site,count\nA,1\n").json()["id"]
    ask = {"dataset_id": dataset, "price_yen": 5_000, "allowed_purposes": ["research"]}
    first = http.post("/listings", headers=auth(seller), json=ask)
    assert first.status_code == 201, first.text
    cancel = http.delete(f"/listings/{first.json()['id']}", headers=auth(seller))
    assert cancel.status_code == 200, cancel.text
    assert http.post("/listings", headers=auth(seller), json=ask).status_code == 201
    assert_limited(http.post("/listings", headers=auth(seller), json=ask), "orders and cancels")
    assert len(http.get("/listings", headers=auth(seller)).json()) == 1


def test_uploads_are_limited_per_participant(http: httpx.Client) -> None:
    seller = register(http, "Busy seller")
    raw = b"site,count\nA,1\n"
    assert [upload(http, seller, raw).status_code for _ in range(2)] == [201, 201]
    assert_limited(upload(http, seller, raw), "uploads")
    assert len(http.get("/datasets", headers=auth(seller)).json()) == 2


def test_wrong_password_sign_ins_are_throttled(http: httpx.Client) -> None:
    attempt = {"participant_id": "p-unknown", "password": "not-the-password-1"}
    statuses = [http.post("/sessions", json=attempt).status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert_limited(http.post("/sessions", json=attempt), "wrong API key or password")


def test_a_batch_counts_each_of_its_orders_against_the_limit(http: httpx.Client) -> None:
    seller = register(http, "Batch seller")
    dataset = upload(http, seller, b"site,count\nA,1\n").json()["id"]

    def batch(*ids: str) -> httpx.Response:
        orders = [
            {
                "action": "ask",
                "client_order_id": cid,
                "dataset_id": dataset,
                "price_yen": 5_000,
                "allowed_purposes": ["research"],
            }
            for cid in ids
        ]
        return http.post("/orders/batch", headers=auth(seller), json={"orders": orders})

    # Four orders against a burst of three: refused whole, nothing stored.
    assert_limited(batch("a", "b", "c", "d"), "orders and cancels")
    assert http.get("/listings", headers=auth(seller)).json() == []
    accepted = batch("a", "b")
    assert accepted.status_code == 200, accepted.text
    assert [r["status"] for r in accepted.json()["results"]] == ["accepted", "accepted"]
    # One token left: a batch of two is refused, one order alone still goes through.
    assert_limited(batch("c", "d"), "orders and cancels")
    assert batch("c").status_code == 200
    assert len(http.get("/listings", headers=auth(seller)).json()) == 3
