"""Durability of order intake (issue 14): SIGKILL the server during sustained order entry.

A real `datamarket serve` process takes bids and cancels from several client threads; it is killed
mid-stream. After a restart every acknowledged order is stored, nothing unacknowledged is
half-written (each stored bid has its journaled engine command, each trade its licence and
ledger postings), the ledger balances and the restored engine equals a replay of the journal.
Runs on SQLite and on PostgreSQL.
"""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlmodel import Session, select

from market.events import InProcessBus
from market.models import Bid, JournalCommand, Licence, Trade
from market.service import Market
from market.settings import Settings
from market.trading.service import TradingService
from tests.e2e.demo_server import free_port
from tests.factories import list_sensor_dataset, register_buyer

PURPOSE = "research.academic"
CLIENTS = 6


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_DATABASE_URL": settings.resolved_database_url,
        "DATAMARKET_MASTER_KEY": "11" * 32,
        "DATAMARKET_ENVIRONMENT": "test",
    }
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "datamarket", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _client(base: str, key: str, instrument: str, acked: list[str], stop: threading.Event) -> None:
    rng = random.Random(key)
    mine: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        while not stop.is_set():
            try:
                if mine and rng.random() < 0.2:
                    response = http.delete(f"/bids/{mine.pop(rng.randrange(len(mine)))}")
                    continue
                price = 1_000 if rng.random() < 0.1 else rng.randint(100, 900)
                body = {"instrument": instrument, "max_price_yen": price, "purpose": PURPOSE}
                response = http.post("/bids", json=body, timeout=5)
            except httpx.TransportError:
                return  # the server was killed
            if response.status_code == 201:
                bid_id = response.json()["bid"]["id"]
                acked.append(bid_id)
                mine.append(bid_id)


def test_a_killed_server_loses_no_acknowledged_order(settings: Settings, tmp_path: Path) -> None:
    with Market(settings, bus=InProcessBus()) as market:
        _, _, listing = list_sensor_dataset(market, price_yen=1_000)
        keys = []
        for _ in range(CLIENTS):
            buyer = register_buyer(market, credit_limit_yen=10**9)
            keys.append(market.accounts.issue_key(buyer))
    port = free_port()
    server = _serve(settings, port, tmp_path / "server.log")
    acked: list[str] = []
    stop = threading.Event()
    clients = [
        threading.Thread(
            target=_client,
            args=(f"http://127.0.0.1:{port}", key, listing.instrument, acked, stop),
            daemon=True,
        )
        for key in keys
    ]
    try:
        for client in clients:
            client.start()
        deadline = time.monotonic() + 30
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
        for client in clients:
            client.join(timeout=10)
    assert len(acked) >= 50, (tmp_path / "server.log").read_text()[-2000:]

    with Market(settings, bus=InProcessBus()) as restarted:
        with Session(restarted.db) as session:
            bids = {bid.id: bid for bid in session.exec(select(Bid)).all()}
            journal = session.exec(select(JournalCommand)).all()
            trades = session.exec(select(Trade)).all()
            licences = session.exec(select(Licence)).all()
        missing = [bid_id for bid_id in acked if bid_id not in bids]
        assert missing == [], f"{len(missing)} acknowledged bids were lost"
        placed = {row.payload.get("id") for row in journal if row.payload.get("op") == "limit"}
        assert set(bids) <= placed, "a stored bid has no journaled engine command"
        assert {t.id for t in trades} == {lic.trade_id for lic in licences}
        assert restarted.settlement.check() == []
        assert sum(restarted.credit.trial_balance().values()) == 0
        replayed = TradingService()
        replayed.rebuild(restarted.db, use_snapshot=False)
        assert replayed.state_hash() == restarted.trading.state_hash()
