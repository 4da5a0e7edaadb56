"""Durability of order intake (issue 14): SIGKILL the server during sustained order entry.

A real `datamarket serve` process takes single bids and cancels from some client threads and
`POST /orders/batch` requests (bids and cancels from buyers, asks and cancels from a market
maker) from others; it is killed mid-stream. After a restart every acknowledged order, cancel
and trade is stored; nothing unacknowledged is half-written (the journal's orders are exactly the
stored ones, its trades exactly the booked ones, each with its licence and invoice; at most the
requests in flight at the kill were stored unanswered); the ledger balances; the restored engine
equals a replay of the journal and holds exactly the stored open orders. The batches in flight
at the kill are then sent again to a restarted server: what had committed is answered, not
repeated. Runs on SQLite and on PostgreSQL.
"""

import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

import matching
from market.events import InProcessBus
from market.models import Bid, Invoice, Licence, Listing, Trade
from market.service import Market
from market.settings import Settings
from market.trading.service import TradingService
from tests.e2e.demo_server import free_port
from tests.e2e.intake_checks import fills, journal, live_orders, open_orders, stored_fills
from tests.e2e.market_process import serve, served_in_process, stop
from tests.factories import list_sensor_dataset, register_buyer, sensor_csv, upload

PURPOSES = ["research.academic", "research.medical", "research.statistics"]
SINGLE_CLIENTS = 3
BATCH_BUYERS = 2
BATCH_SIZE = 20
MAKER_DATASETS = 3


@dataclass
class Acknowledged:
    """What the server answered before it was killed, and what it was asked but never answered."""

    orders: dict[str, str] = field(default_factory=dict)  # order id -> "bid" or "listing"
    cancels: set[str] = field(default_factory=set)
    trades: dict[str, tuple[str, str, int, int]] = field(default_factory=dict)
    single_responses: int = 0
    batch_responses: int = 0
    # Requests that got no answer (in flight at the kill, or sent after it): single orders
    # (count) and whole batches (bodies).
    single_in_flight: int = 0
    batches_in_flight: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def trade(self, trade: dict[str, Any]) -> None:
        self.trades[trade["id"]] = (
            trade["bid_id"],
            trade["listing_id"],
            trade["price_yen"],
            trade["quantity"],
        )


def _bid_body(rng: random.Random, instrument: str) -> dict[str, Any]:
    # Mostly bids that rest below every ask; one in eight crosses the asks at 1,000 yen and up.
    price = rng.randint(1_000, 1_300) if rng.random() < 0.125 else rng.randint(100, 900)
    return {"instrument": instrument, "max_price_yen": price, "purpose": rng.choice(PURPOSES)}


def _single_client(
    base: str, key: str, instrument: str, acked: Acknowledged, stop_: threading.Event
) -> None:
    """Bids and cancels of one buyer, one request at a time."""
    rng = random.Random(key)
    mine: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        while not stop_.is_set():
            cancel = mine.pop(rng.randrange(len(mine))) if mine and rng.random() < 0.2 else None
            try:
                if cancel is not None:
                    response = http.delete(f"/bids/{cancel}", timeout=10)
                else:
                    response = http.post("/bids", json=_bid_body(rng, instrument), timeout=10)
            except httpx.TransportError:
                with acked.lock:
                    acked.single_in_flight += 1
                return
            with acked.lock:
                acked.single_responses += 1
                if cancel is not None and response.status_code == 200:
                    acked.cancels.add(cancel)
                elif cancel is None and response.status_code == 201:
                    answer = response.json()
                    acked.orders[answer["bid"]["id"]] = "bid"
                    for trade in answer["trades"]:
                        acked.trade(trade)
                    if answer["bid"]["status"] == "open":
                        mine.append(answer["bid"]["id"])


def _batch_client(
    base: str,
    key: str,
    make_order: Any,
    kind: str,
    acked: Acknowledged,
    stop_: threading.Event,
) -> None:
    """`POST /orders/batch` of one participant: new orders from `make_order`, and cancels."""
    rng = random.Random(key)
    mine: list[str] = []
    number = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        while not stop_.is_set():
            orders = []
            for _ in range(BATCH_SIZE):
                number += 1
                cid = f"{kind}-{number}"
                if mine and rng.random() < 0.2:
                    side = "bid" if kind == "bid" else "ask"
                    order_id = mine.pop(rng.randrange(len(mine)))
                    orders.append(
                        {
                            "action": "cancel",
                            "client_order_id": cid,
                            "side": side,
                            "order_id": order_id,
                        }
                    )
                else:
                    orders.append({**make_order(rng), "client_order_id": cid})
            body = {"orders": orders}
            try:
                response = http.post("/orders/batch", json=body, timeout=30)
            except httpx.TransportError:
                with acked.lock:
                    acked.batches_in_flight.append((key, body))
                return
            assert response.status_code == 200, response.text
            with acked.lock:
                acked.batch_responses += 1
                for order, result in zip(orders, response.json()["results"], strict=True):
                    assert result["client_order_id"] == order["client_order_id"]
                    if result["status"] == "cancelled":
                        acked.cancels.add(result["order_id"])
                    elif result["status"] in ("accepted", "traded"):
                        acked.orders[result["order_id"]] = kind
                        for trade in result["trades"]:
                            acked.trade(trade)
                        if order["action"] != "cancel":
                            mine.append(result["order_id"])


@dataclass
class Prepared:
    instrument: str
    listing_id: str  # the unlimited ask listed before the server started
    single: list[str]  # API keys of buyers sending single orders
    batch: list[str]  # API keys of buyers sending batches
    maker: str  # API key of the market maker
    datasets: list[str]  # the market maker's datasets
    owners: dict[str, str]  # API key -> participant id


def _prepare(settings: Settings) -> Prepared:
    """An unlimited ask at 1,000 yen, buyers with keys and a market maker with datasets."""
    owners: dict[str, str] = {}

    def buyer_key(market: Market) -> str:
        buyer = register_buyer(market, credit_limit_yen=10**9)
        key = market.accounts.issue_key(buyer)
        owners[key] = buyer.id
        return key

    with Market(settings, bus=InProcessBus()) as market:
        _, _, listing = list_sensor_dataset(market, price_yen=1_000, allowed_purposes=["research"])
        single = [buyer_key(market) for _ in range(SINGLE_CLIENTS)]
        batch = [buyer_key(market) for _ in range(BATCH_BUYERS)]
        maker, maker_key = market.accounts.register(name="Maker", kind="business")
        owners[maker_key] = maker.id
        datasets = [
            upload(
                market,
                seller=maker,
                raw=sensor_csv(4 + n),
                title=f"maker {n}",
                category="mobility.traffic",
                data_class="non_personal",
            ).id
            for n in range(MAKER_DATASETS)
        ]
    return Prepared(listing.instrument, listing.id, single, batch, maker_key, datasets, owners)


def _drive(
    base: str, prepared: Prepared
) -> tuple[Acknowledged, threading.Event, list[threading.Thread]]:
    acked = Acknowledged()
    instrument = prepared.instrument
    stop_ = threading.Event()

    def bid(rng: random.Random) -> dict[str, Any]:
        return {"action": "bid", **_bid_body(rng, instrument)}

    def ask(rng: random.Random) -> dict[str, Any]:
        return {
            "action": "ask",
            "dataset_id": rng.choice(prepared.datasets),
            "price_yen": rng.randint(850, 1_300),
            "licence_count": rng.randint(1, 3),
            "allowed_purposes": ["research"],
        }

    jobs: list[tuple[Any, tuple[Any, ...]]] = [
        (_single_client, (base, key, instrument, acked, stop_)) for key in prepared.single
    ]
    jobs += [(_batch_client, (base, key, bid, "bid", acked, stop_)) for key in prepared.batch]
    jobs.append((_batch_client, (base, prepared.maker, ask, "listing", acked, stop_)))
    threads = [threading.Thread(target=run, args=args, daemon=True) for run, args in jobs]
    for thread in threads:
        thread.start()
    return acked, stop_, threads


def test_a_killed_server_loses_no_acknowledged_order(settings: Settings, tmp_path: Path) -> None:
    prepared = _prepare(settings)
    log = tmp_path / "server.log"
    port = free_port()
    server = serve(settings, port, log)
    acked, stop_, threads = _drive(f"http://127.0.0.1:{port}", prepared)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            len(acked.orders) < 120 or acked.single_responses < 10 or acked.batch_responses < 4
        ):
            time.sleep(0.02)
        stop(server, signal.SIGKILL)
    finally:
        stop_.set()
        stop(server, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
    assert acked.single_responses >= 10 and acked.batch_responses >= 3, log.read_text()[-3000:]
    assert acked.trades and acked.cancels, "the order flow traded and cancelled nothing"

    owners = _check_restart(settings, prepared, acked)
    _check_batch_retry(settings, prepared, acked, owners)


def _check_restart(settings: Settings, prepared: Prepared, acked: Acknowledged) -> dict[str, str]:
    """Restart in process and check the stored market against what was acknowledged.

    Returns the owner of every stored order, by order id.
    """
    with Market(settings, bus=InProcessBus()) as restarted:
        with Session(restarted.db) as session:
            bids = {bid.id: bid for bid in session.exec(select(Bid)).all()}
            listings = {listing.id: listing for listing in session.exec(select(Listing)).all()}
            trades = {trade.id: trade for trade in session.exec(select(Trade)).all()}
            licences = Counter(lic.trade_id for lic in session.exec(select(Licence)).all())
            invoices = Counter(inv.trade_id for inv in session.exec(select(Invoice)).all())
            rows = journal(session)
            booked = stored_fills(session)
            resting = open_orders(session)

        # Every acknowledged order, cancel and trade is stored as it was answered.
        stored = {**{i: "bid" for i in bids}, **{i: "listing" for i in listings}}
        lost = [i for i, kind in acked.orders.items() if stored.get(i) != kind]
        assert lost == [], f"{len(lost)} acknowledged orders were lost"
        statuses = {
            **{i: bid.status for i, bid in bids.items()},
            **{i: listing.status for i, listing in listings.items()},
        }
        uncancelled = [i for i in acked.cancels if statuses.get(i) != "cancelled"]
        assert uncancelled == [], f"{len(uncancelled)} acknowledged cancels were lost"
        assert {
            i: (t.bid_id, t.listing_id, t.price_yen, t.quantity)
            for i, t in trades.items()
            if i in acked.trades
        } == acked.trades

        # Nothing half-written: the journal's orders and trades are exactly the stored ones.
        placed = {p["id"] for _, p in rows if p["op"] == "limit"}
        assert placed == set(stored), "journal and stored orders differ"
        cancelled = {p["id"] for _, p in rows if p["op"] == "cancel"}
        assert cancelled == {i for i, status in statuses.items() if status == "cancelled"}
        engine, events = matching.replay(matching.command_from_dict(p, f) for f, p in rows)
        assert fills(events) == booked, "the journal's trades are not the booked trades"
        assert all(licences[i] == 1 and invoices[i] == 1 for i in trades)
        for bid in bids.values():
            assert bid.filled == sum(t.quantity for t in trades.values() if t.bid_id == bid.id)
        for listing in listings.values():
            sold = sum(t.quantity for t in trades.values() if t.listing_id == listing.id)
            assert listing.licences_sold == sold
        # Unanswered, but stored whole: at most the requests in flight at the kill.
        in_flight = acked.single_in_flight + sum(
            1
            for _, body in acked.batches_in_flight
            for order in body["orders"]
            if order["action"] != "cancel"
        )
        unanswered = set(stored) - set(acked.orders) - {prepared.listing_id}
        assert len(unanswered) <= in_flight

        # The ledger balances and the restored engine is the journal's.
        assert restarted.settlement.check() == []
        assert sum(restarted.credit.trial_balance().values()) == 0
        assert restarted.trading.state_hash() == engine.state_hash()
        replayed = TradingService()
        replayed.rebuild(restarted.db, use_snapshot=False)
        assert replayed.state_hash() == engine.state_hash()
        restarted.trading.engine.validate_internal_state()
        assert live_orders(restarted.trading.engine) == resting
    return {
        **{i: bid.buyer_id for i, bid in bids.items()},
        **{i: listing.seller_id for i, listing in listings.items()},
    }


def _check_batch_retry(
    settings: Settings,
    prepared: Prepared,
    acked: Acknowledged,
    owners: dict[str, str],
) -> None:
    """Send the batches in flight at the kill again: committed orders are answered, not repeated.

    A batch client has one batch in flight at a time, so its stored orders that were never
    answered are exactly the new orders of its batch in flight that had committed.
    """
    with served_in_process(settings) as base:
        for key, body in acked.batches_in_flight:
            committed = {i for i, owner in owners.items() if owner == prepared.owners[key]} - set(
                acked.orders
            )
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
                first = http.post("/orders/batch", json=body, timeout=30)
                again = http.post("/orders/batch", json=body, timeout=30)
            assert first.status_code == 200 and again.status_code == 200, first.text
            replayed = set()
            for order, one, two in zip(
                body["orders"], first.json()["results"], again.json()["results"], strict=True
            ):
                if one["status"] == "rejected" and one["order_id"] is None:
                    continue  # refused before anything was stored: nothing to answer again
                if order["action"] != "cancel" and one["replayed"]:
                    replayed.add(one["order_id"])
                elif order["action"] != "cancel":
                    assert one["order_id"] not in owners, "a committed order was placed again"
                assert two["replayed"] and two["order_id"] == one["order_id"], two
            assert replayed == committed, "a committed order of the batch was not answered"
