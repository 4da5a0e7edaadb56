"""Determinism of order intake (issue 14): a prepared command file driven through HTTP.

`intake_commands.jsonl` is a fixed sequence of engine commands over two instruments, two sellers
and three buyers: asks, bids that rest, bids that trade (one IOC), bids the market must keep
from buying a dataset their buyer already licenses (`held_datasets`), cancels, and amendments of
price and of size on both sides. Its ids are the file's own (`a1`, `b1`, `seller-1`, `ds-1`).
Each command is sent as the one HTTP request a participant would make, one at a time. Then the
journal, with the server's ids mapped to the file's, equals the file (the clock ticks the server
journals beside each command aside), the booked trades equal `datamarket matching replay` of the
file (sequence, pairing, price, quantity), and the market restarted from its database holds the
book the replay ends with. Runs on SQLite and on PostgreSQL.
"""

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

import matching
from market.events import InProcessBus
from market.service import Market
from market.settings import Settings
from tests.e2e.intake_checks import Fill, journal, live_orders, open_orders, stored_fills
from tests.e2e.market_process import served_in_process
from tests.factories import register_buyer, sensor_csv, upload

COMMANDS = Path(__file__).with_name("intake_commands.jsonl")
# The file's datasets: (seller, category, columns, tags).
DATASETS = {
    "ds-1": ("seller-1", "mobility.traffic", ("sensor_id", "reading"), []),
    "ds-2": ("seller-2", "mobility.traffic", ("sensor_id", "speed", "flow"), ["hourly"]),
    "ds-3": ("seller-2", "energy.meter", ("meter_id", "kwh"), ["daily"]),
}
BUYERS = ("buyer-1", "buyer-2", "buyer-3")


@dataclass
class Ids:
    """The file's ids and the server's, both ways."""

    server: dict[str, str] = field(default_factory=dict)
    file: dict[str, str] = field(default_factory=dict)

    def add(self, file_id: str, server_id: str) -> None:
        assert server_id not in self.file, f"the server gave {server_id} twice"
        self.server[file_id] = server_id
        self.file[server_id] = file_id

    def to_file(self, value: Any) -> Any:
        """A journaled value in the file's ids (sets, written as sorted lists, stay sorted)."""
        if isinstance(value, str):
            return self.file.get(value, value)
        if isinstance(value, list):
            return sorted(self.to_file(item) for item in value)
        if isinstance(value, dict):
            return {name: self.to_file(item) for name, item in value.items()}
        return value


@dataclass
class Prepared:
    ids: Ids
    keys: dict[str, str]  # the file's participant -> its API key


@pytest.fixture
def prepared(settings: Settings) -> Prepared:
    """The file's participants and datasets, registered before the market is served."""
    ids = Ids()
    keys: dict[str, str] = {}
    sellers = {}
    with Market(settings, bus=InProcessBus()) as market:
        for name in ("seller-1", "seller-2"):
            sellers[name], keys[name] = market.accounts.register(name=name, kind="business")
            ids.add(name, sellers[name].id)
        for name in BUYERS:
            buyer = register_buyer(market, credit_limit_yen=10**8)
            keys[name] = market.accounts.issue_key(buyer)
            ids.add(name, buyer.id)
        for name, (owner, category, columns, tags) in DATASETS.items():
            dataset = upload(
                market,
                seller=sellers[owner],
                raw=sensor_csv(6, columns=columns),
                title=name,
                category=category,
                data_class="non_personal",
                tags=tags,
            )
            ids.add(name, dataset.id)
    return Prepared(ids, keys)


def _commands() -> list[dict[str, Any]]:
    return [json.loads(line) for line in COMMANDS.read_text().splitlines() if line.strip()]


class Driver:
    """Sends each command of the file as the HTTP request its participant would make."""

    def __init__(self, base: str, prepared: Prepared) -> None:
        self.clients = {
            name: httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            for name, key in prepared.keys.items()
        }
        self.ids = prepared.ids
        self.kind: dict[str, str] = {}  # the file's order id -> "bids" or "listings"
        self.owner: dict[str, str] = {}  # the file's order id -> the file's participant

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def send(self, command: dict[str, Any]) -> None:
        op = command["op"]
        if op == "limit" and command["side"] == "sell":
            self._ask(command)
        elif op == "limit":
            self._bid(command)
        elif op == "amend":
            self._amend(command)
        elif op == "cancel":
            order = command["id"]
            http = self.clients[self.owner[order]]
            response = http.delete(f"/{self.kind[order]}/{self.ids.server[order]}")
            assert response.status_code == 200, response.text
        else:
            raise AssertionError(f"the driver cannot send {op}")

    def _ask(self, command: dict[str, Any]) -> None:
        body = {
            "dataset_id": self.ids.server[command["dataset_id"]],
            "price_yen": command["price"],
            "licence_count": command["qty"],
            "allowed_purposes": ["research"],  # the market expands it to its leaf purposes
        }
        response = self.clients[command["participant"]].post("/listings", json=body)
        assert response.status_code == 201, response.text
        self._placed(command, response.json()["id"], "listings")

    def _bid(self, command: dict[str, Any]) -> None:
        body = {
            "instrument": command["instrument"],
            "max_price_yen": command["price"],
            "quantity": command["qty"],
            "purpose": command["purpose"],
            "time_in_force": command["tif"],
            "min_quality": command["min_quality"],
        }
        response = self.clients[command["participant"]].post("/bids", json=body)
        assert response.status_code == 201, response.text
        self._placed(command, response.json()["bid"]["id"], "bids")

    def _placed(self, command: dict[str, Any], server_id: str, kind: str) -> None:
        self.ids.add(command["id"], server_id)
        self.kind[command["id"]] = kind
        self.owner[command["id"]] = command["participant"]

    def _amend(self, command: dict[str, Any]) -> None:
        """The engine's `qty` is the new remaining size; the API takes the new total."""
        order, http = command["id"], self.clients[command["participant"]]
        server_id = self.ids.server[order]
        body: dict[str, Any] = {}
        if self.kind[order] == "bids":
            if command["price"] is not None:
                body["max_price_yen"] = command["price"]
            if command["qty"] is not None:
                mine = http.get("/bids", params={"status": "open"}).json()
                filled = next(bid["filled"] for bid in mine if bid["id"] == server_id)
                body["quantity"] = filled + command["qty"]
        else:
            if command["price"] is not None:
                body["price_yen"] = command["price"]
            if command["qty"] is not None:
                sold = http.get(f"/listings/{server_id}").json()["licences_sold"]
                body["licence_count"] = sold + command["qty"]
        response = http.patch(f"/{self.kind[order]}/{server_id}", json=body)
        assert response.status_code == 200, response.text


def _replay(tmp_path: Path) -> list[Fill]:
    """The trades of `datamarket matching replay` of the file."""
    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "datamarket",
            "matching",
            "replay",
            str(COMMANDS),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in out.read_text().splitlines()]
    return [
        (e["seq"], e["instrument"], e["buy_id"], e["sell_id"], e["price"], e["qty"])
        for e in events
        if e["type"] == "trade"
    ]


def test_a_command_file_sent_over_http_journals_and_trades_as_its_replay(
    settings: Settings, prepared: Prepared, tmp_path: Path
) -> None:
    commands = _commands()
    with served_in_process(settings) as base:
        driver = Driver(base, prepared)
        try:
            for command in commands:
                driver.send(command)
        finally:
            driver.close()
    ids = prepared.ids

    with Market(settings, bus=InProcessBus()) as restarted:
        with Session(restarted.db) as session:
            rows = journal(session)
            booked = stored_fills(session)
            resting = open_orders(session)
        restored = live_orders(restarted.trading.engine)

    # The journal is the file: every command as sent, in order, with the attributes the market
    # derived (quality, columns, tags, expanded purposes, the datasets a buyer already holds).
    clocks = [payload["now"] for _, payload in rows if payload["op"] == "clock"]
    assert clocks == sorted(clocks), "the engine clock went back"
    journaled = [ids.to_file(payload) for _, payload in rows if payload["op"] != "clock"]
    for number, (expected, actual) in enumerate(zip(commands, journaled, strict=False), 1):
        assert actual == expected, f"line {number} of {COMMANDS.name} was journaled otherwise"
    assert len(journaled) == len(commands)

    # The trades are the replay's, and so is the book (the market's, and restored from disk).
    trades = _replay(tmp_path)
    assert len(trades) == 8, "the file trades eight times"
    assert [(s, i, ids.to_file(b), ids.to_file(a), p, q) for s, i, b, a, p, q in booked] == trades
    engine, _ = matching.replay(matching.parse_journal(COMMANDS.read_text().splitlines()))
    expected_book = live_orders(engine)
    assert {ids.to_file(i): order for i, order in restored.items()} == expected_book
    stored = {ids.to_file(i): order for i, order in resting.items()}
    assert stored == expected_book, "the stored open orders are not the book"
