"""Delivery over real HTTP: fingerprinted copies, signed download URLs, and `datamarket trace`
run beside the live market."""

import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from market.delivery import urls
from market.settings import Settings
from tests.e2e.test_market_slice import (
    PROBLEM,
    auth,
    participant_id,
    register,
    register_buyer,
    upload,
)

ROWS = 300


def sensor_rows() -> bytes:
    lines = ["sensor,site,reading"] + [
        f"S{i:04d},{'新宿' if i % 3 else '渋谷'},{(i * 37) % 101 if i != 5 else '=1+2'}"
        for i in range(ROWS)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.fixture
def market(http: httpx.Client, operator_key: str) -> dict[str, str]:
    """A dataset of 300 rows, its seller and two buyers each holding a licence of it."""
    seller = register(http, "Sensor seller")
    dataset = upload(http, seller, sensor_rows())
    assert dataset.status_code == 201, dataset.text
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset.json()["id"],
            "price_yen": 1_000,
            "licence_count": None,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    found = {"seller": seller, "dataset": dataset.json()["id"]}
    for name in ("alice", "bob"):
        buyer = register_buyer(http, operator_key, f"Lab {name}", recipient_category="research")
        bid = http.post(
            "/bids",
            headers=auth(buyer),
            json={
                "instrument": listing.json()["instrument"],
                "max_price_yen": 1_000,
                "purpose": "research.academic",
            },
        )
        assert bid.json()["trades"], bid.text
        found[name] = buyer
        found[f"{name}_licence"] = http.get("/licences", headers=auth(buyer)).json()[0]["id"]
    return found


def download(http: httpx.Client, key: str, dataset_id: str, **params: int) -> httpx.Response:
    response = http.get(f"/datasets/{dataset_id}/download", headers=auth(key), params=params)
    assert response.status_code == 200, response.text
    return response


def test_buyers_get_their_own_copy_and_the_seller_the_original(
    http: httpx.Client, market: dict[str, str]
) -> None:
    dataset_id = market["dataset"]
    original = download(http, market["seller"], dataset_id)
    assert original.content == sensor_rows()
    alice = download(http, market["alice"], dataset_id)
    bob = download(http, market["bob"], dataset_id)
    assert alice.text != bob.text != original.text
    for copy in (alice, bob):
        assert copy.headers["X-Data-Class"] == "non_personal"
        assert copy.headers["X-Formula-Cells"].startswith("1 cells begin with")
        assert copy.headers["content-type"] == "text/csv; charset=utf-8"
        rows = rows_of(copy.text)
        assert rows[0] == ["sensor", "site", "reading"]
        assert sorted(rows[1:]) == sorted(rows_of(original.text)[1:])
    assert download(http, market["alice"], dataset_id).content == alice.content
    safe = download(http, market["alice"], dataset_id, excel_safe=1)
    assert "x-formula-cells" not in safe.headers
    assert ["S0005", "新宿", "'=1+2"] in rows_of(safe.text)


def run_trace(leaked: Path, settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATAMARKET_ENVIRONMENT": "test",
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_DATABASE_URL": settings.resolved_database_url,
        "DATAMARKET_MASTER_KEY": "11" * 32,
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "datamarket", "trace", str(leaked)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_trace_beside_the_running_market_names_the_leaking_licence_and_buyer(
    http: httpx.Client, market: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    bob = download(http, market["bob"], market["dataset"])
    frame = pd.read_csv(io.StringIO(bob.text), dtype=str, na_filter=False)
    leaked = frame.drop(frame.sample(frac=0.1, random_state=3).index)[["reading", "sensor", "site"]]
    leak = tmp_path / "leak.csv"
    leaked.to_csv(leak, index=False)

    traced = run_trace(leak, settings)
    assert traced.returncode == 0, traced.stderr
    assert market["bob_licence"] in traced.stdout
    assert participant_id(http, market["bob"]) in traced.stdout
    assert market["alice_licence"] not in traced.stdout

    unrelated = tmp_path / "unrelated.csv"
    frame.sample(frac=1.0, random_state=8).to_csv(unrelated, index=False)
    none = run_trace(unrelated, settings)
    assert none.returncode == 1, none.stderr
    assert "no licence's fingerprint found" in none.stdout
    # The market kept serving throughout: the trace took no engine and wrote nothing.
    assert download(http, market["bob"], market["dataset"]).content == bob.content


def test_a_signed_url_serves_the_buyers_copy_to_that_buyer_only(
    http: httpx.Client, market: dict[str, str]
) -> None:
    licence = market["alice_licence"]
    made = http.post(f"/licences/{licence}/download-url", headers=auth(market["alice"]))
    assert made.status_code == 200, made.text
    url = made.json()["url"]
    assert url.startswith(str(http.base_url).rstrip("/") + "/downloads/")
    expires = pd.Timestamp(made.json()["expires_at"]).timestamp()
    assert 0 < expires - time.time() <= urls.VALID_SECONDS + 5

    served = http.get(url, headers=auth(market["alice"]))
    assert served.status_code == 200, served.text
    assert served.content == download(http, market["alice"], market["dataset"]).content
    assert served.headers["X-Formula-Cells"].startswith("1 cells")

    other = http.get(url, headers=auth(market["bob"]))
    assert_nothing_served(other, 403)
    assert http.get(url).status_code == 401
    token = url.rsplit("/", 1)[1]
    lic, revision, exp, signature = token.split(".")
    tampered = f"{lic}.{revision}.{int(exp) + 3_600}.{signature}"
    assert_nothing_served(http.get(f"/downloads/{tampered}", headers=auth(market["alice"])), 403)
    # Another buyer cannot have a link made for a licence it does not hold.
    stolen = http.post(f"/licences/{licence}/download-url", headers=auth(market["bob"]))
    assert stolen.status_code == 404


def test_an_expired_signed_url_is_refused(
    http: httpx.Client, market: dict[str, str], settings: Settings
) -> None:
    key = urls.url_key(settings.resolved_master_key())
    alice_id = participant_id(http, market["alice"])
    expired = urls.sign(
        key,
        licence_id=market["alice_licence"],
        revision=1,
        buyer_id=alice_id,
        expires=int(time.time()) - 1,
    )
    response = http.get(f"/downloads/{expired}", headers=auth(market["alice"]))
    assert_nothing_served(response, 410)
    assert "expired" in response.json()["detail"]


def assert_nothing_served(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "S0001" not in response.text and "content-disposition" not in response.headers
