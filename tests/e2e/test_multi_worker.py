"""Several API processes, one engine owner (issue 14 item 5), as real processes on loopback.

One `datamarket serve` owns the engine and serves the engine channel; two more run as workers
(`DATAMARKET_ENGINE_ROLE=worker`) that forward every trading command to it, over the local Unix
socket or, with `DATAMARKET_REDIS_URL`, a Redis Stream. Orders entered through either worker
trade against each other; a worker killed with SIGKILL loses no order it acknowledged; a second
engine owner still refuses to start; `serve --workers 2` runs all of it with one command.
The three processes are started once per channel and shared by the tests (each test trades on
a dataset of its own), as starting a process is most of the time here.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib
from sqlmodel import Session, col, select

from market import db
from market.models import Bid, Trade
from market.service import Market
from market.settings import Settings
from tests.e2e.demo_server import free_port
from tests.factories import register_buyer, sensor_csv, upload
from tests.service_urls import redis_url

PURPOSE = "research.academic"
INSTRUMENT = "mobility.traffic/non_personal"


@dataclass
class Cluster:
    """Server processes sharing one database, each logging to a file in `folder`."""

    settings: Settings
    folder: Path
    env: dict[str, str]
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    owner: str = ""
    worker_a: str = ""
    worker_b: str = ""

    def serve(self, name: str, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        log = self.folder / f"{name}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "datamarket", "serve", "--port", str(port), *args],
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.started.append(process)
        base = f"http://127.0.0.1:{port}"
        # Generous: on a loaded machine importing the application alone takes many seconds.
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    return process, base
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def worker(self, name: str) -> tuple[subprocess.Popen[bytes], str]:
        return self.serve(name, DATAMARKET_ENGINE_ROLE="worker")

    def stop(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _settings(folder: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        data_dir=folder / "var",
        database_url=f"sqlite:///{folder / 'market.db'}",
        master_key="11" * 32,
    )


def _environment(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    """The servers' environment: this one's without any developer DATAMARKET_* setting."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("DATAMARKET_")}
    return {
        **inherited,
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_DATABASE_URL": settings.resolved_database_url,
        "DATAMARKET_MASTER_KEY": "11" * 32,
        "DATAMARKET_ENVIRONMENT": "test",
        "DATAMARKET_RATE_LIMITS_ENABLED": "false",
        **extra,
    }


@pytest.fixture(scope="module", params=["local", "redis"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp(f"cluster-{request.param}")
    settings = _settings(folder)
    Market(settings).migrate()
    extra: dict[str, str] = {}
    prefix = f"dmtest:{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        extra = {"DATAMARKET_REDIS_URL": redis_url(), "DATAMARKET_REDIS_PREFIX": prefix}
    running = Cluster(settings, folder, _environment(settings, extra))
    try:
        running.owner = running.serve("owner", DATAMARKET_ENGINE_SERVE_CHANNEL="true")[1]
        running.worker_a = running.worker("worker-a")[1]
        running.worker_b = running.worker("worker-b")[1]
        yield running
    finally:
        running.stop()
        if request.param == "redis":
            client = redis_lib.Redis.from_url(redis_url())
            keys = list(client.scan_iter(f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            client.close()


def _seed(settings: Settings, buyers: int) -> tuple[str, str, list[str]]:
    """Beside the running owner (database only): a seller with an unlisted dataset of its own
    and buyers with credit; returns (seller key, dataset id, buyer keys)."""
    market = Market(settings)
    try:
        seller, seller_key = market.accounts.register(name="Seller", kind="business")
        dataset = upload(
            market,
            seller=seller,
            raw=sensor_csv(),
            title="t",
            category="mobility.traffic",
            data_class="non_personal",
        )
        keys = [
            market.accounts.issue_key(register_buyer(market, credit_limit_yen=10**9))
            for _ in range(buyers)
        ]
    finally:
        market.close()
    return seller_key, dataset.id, keys


def _stored(settings: Settings, query: Any) -> list[Any]:
    """What the database holds, read beside the running servers."""
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(query).all())
    finally:
        engine.dispose()


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _list(base: str, seller_key: str, dataset_id: str) -> str:
    body = {"dataset_id": dataset_id, "price_yen": 1_000, "allowed_purposes": ["research"]}
    response = httpx.post(f"{base}/listings", json=body, headers=_auth(seller_key), timeout=60)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _bid(base: str, key: str, price_yen: int, dataset_id: str) -> httpx.Response:
    # Pinned to the test's dataset: the tests share one order book.
    body = {
        "instrument": INSTRUMENT,
        "max_price_yen": price_yen,
        "purpose": PURPOSE,
        "dataset_id": dataset_id,
    }
    return httpx.post(f"{base}/bids", json=body, headers=_auth(key), timeout=60)


def test_orders_through_either_worker_trade_against_each_other(cluster: Cluster) -> None:
    seller_key, dataset_id, [buyer_key] = _seed(cluster.settings, buyers=1)

    listing_id = _list(cluster.worker_a, seller_key, dataset_id)
    resting = _bid(cluster.worker_a, buyer_key, 500, dataset_id)
    traded = _bid(cluster.worker_b, buyer_key, 1_000, dataset_id)

    assert resting.status_code == 201 and resting.json()["trades"] == []
    assert traded.status_code == 201, traded.text
    assert [t["listing_id"] for t in traded.json()["trades"]] == [listing_id]
    # Each worker reads what the other's order did, and answers errors as one process would.
    mine = httpx.get(f"{cluster.worker_a}/bids", headers=_auth(buyer_key), timeout=60).json()
    assert {b["id"] for b in mine} == {resting.json()["bid"]["id"], traded.json()["bid"]["id"]}
    unknown = httpx.delete(f"{cluster.worker_b}/bids/nope", headers=_auth(buyer_key), timeout=60)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


def test_an_idempotency_key_retried_through_the_other_worker_places_one_order(
    cluster: Cluster,
) -> None:
    seller_key, dataset_id, [buyer_key] = _seed(cluster.settings, buyers=1)
    _list(cluster.owner, seller_key, dataset_id)
    body = {
        "instrument": INSTRUMENT,
        "max_price_yen": 200,
        "purpose": PURPOSE,
        "dataset_id": dataset_id,
    }
    headers = {**_auth(buyer_key), "Idempotency-Key": "bid-once"}

    first = httpx.post(f"{cluster.worker_a}/bids", json=body, headers=headers, timeout=60)
    again = httpx.post(f"{cluster.worker_b}/bids", json=body, headers=headers, timeout=60)

    assert first.status_code == 201, first.text
    assert again.json() == first.json()
    mine = httpx.get(f"{cluster.worker_b}/bids", headers=_auth(buyer_key), timeout=60).json()
    assert [b["id"] for b in mine] == [first.json()["bid"]["id"]]


def test_a_killed_worker_loses_no_acknowledged_order(cluster: Cluster) -> None:
    seller_key, dataset_id, keys = _seed(cluster.settings, buyers=4)
    _list(cluster.owner, seller_key, dataset_id)
    victim, victim_url = cluster.worker("victim")
    acked: list[str] = []
    stop = threading.Event()

    def enter(key: str) -> None:
        with httpx.Client(base_url=victim_url, headers=_auth(key), timeout=30) as http:
            while not stop.is_set():
                body = {
                    "instrument": INSTRUMENT,
                    "max_price_yen": 300,
                    "purpose": PURPOSE,
                    "dataset_id": dataset_id,
                }
                try:
                    response = http.post("/bids", json=body)
                except httpx.TransportError:
                    return  # the worker was killed
                if response.status_code == 201:
                    acked.append(response.json()["bid"]["id"])

    clients = [threading.Thread(target=enter, args=(key,), daemon=True) for key in keys]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 60
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    stop.set()
    for client in clients:
        client.join(timeout=30)
    assert len(acked) >= 10, (cluster.folder / "victim.log").read_text()[-2000:]

    stored = _stored(cluster.settings, select(Bid.id).where(col(Bid.id).in_(acked)))
    assert sorted(stored) == sorted(acked)
    # The other workers still trade through the same owner.
    after = _bid(cluster.worker_b, keys[0], 1_000, dataset_id)
    assert after.status_code == 201, after.text
    assert len(after.json()["trades"]) == 1
    trades = _stored(cluster.settings, select(Trade.bid_id).where(Trade.dataset_id == dataset_id))
    assert trades == [after.json()["bid"]["id"]]


def test_a_second_engine_owner_still_refuses_to_start(cluster: Cluster) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "datamarket", "serve", "--port", str(free_port())],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert second.returncode == 1
    assert "another process owns the matching engine" in second.stderr


def test_serve_with_two_workers_is_one_command(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    Market(settings).migrate()
    seller_key, dataset_id, buyer_keys = _seed(settings, buyers=4)
    one = Cluster(settings, tmp_path, _environment(settings, {}))
    try:
        server, base = one.serve("serve-workers", "--workers", "2")
        listing_id = _list(base, seller_key, dataset_id)
        answers = [_bid(base, key, 1_000, dataset_id) for key in buyer_keys]
        workers = subprocess.run(
            ["pgrep", "-P", str(server.pid), "-f", "spawn_main"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
    finally:
        one.stop()
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert {t["listing_id"] for a in answers for t in a.json()["trades"]} == {listing_id}
    assert len(workers) == 2, "uvicorn did not start two worker processes"
