"""Bulk entry without HTTP: `OrderDesk.enter_batch` in process, in orders per CPU second.

`python -m bench.http.bulk [--database-url URL] [--requests 12] [--size 1000]` seeds a market
like `datamarket bench http` (SQLite in a temporary folder by default), then enters requests of
`--size` orders, each from one buyer, in the mix of `batch.lua`: 70% bids that rest, 10% IOC bids
above every ask (they trade while the buyer lacks a licence of some dataset), 20% cancels of the
buyer's live bids. The process's CPU time is the measure (the engine thread's work and the
caller's): on a shared machine it moves far less than wall time. The first request warms up and
is left out. It checks afterwards that every accepted bid is stored open and every cancel
cancelled.
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.http.run import _market_env, seed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--size", type=int, default=1_000)
    parser.add_argument("--buyers", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    env = _market_env(folder, args.database_url or f"sqlite:///{folder}/market.db")
    seed(env, folder / "seed.txt", buyers=args.buyers, sellers=10, per_category=10)
    print(json.dumps(run(env, folder / "seed.txt", args.requests, args.size)))


def run(env: dict[str, str], seed_path: Path, requests: int, size: int) -> dict[str, Any]:
    from sqlmodel import Session, select

    from bench.http.run import MASTER_KEY
    from market.events import InProcessBus
    from market.models import Bid, Participant
    from market.service import Market
    from market.settings import Settings
    from market.trading.batch import BatchItem, CancelOrder
    from market.trading.commands import PlaceBid

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        data_dir=Path(env["DATAMARKET_DATA_DIR"]),
        database_url=env["DATAMARKET_DATABASE_URL"],
        master_key=MASTER_KEY,
        redis_url=None,
    )
    lines = [line.split() for line in seed_path.read_text().splitlines()]
    buyer_ids = [parts[1] for parts in lines if parts[0] == "key"]
    instruments = [parts[1] for parts in lines if parts[0] == "instrument"]
    purpose = next(parts[1] for parts in lines if parts[0] == "purpose")
    rng = random.Random(1)
    live: dict[str, list[str]] = {b: [] for b in buyer_ids}
    accepted: set[str] = set()
    cancelled: set[str] = set()
    rates: list[float] = []
    counts: dict[str, int] = {}
    with Market(settings, bus=InProcessBus()) as market:
        with Session(market.db) as session:
            buyers = {b: session.get(Participant, b) for b in buyer_ids}
        sequence = 0
        for number in range(requests):
            buyer_id = buyer_ids[number % len(buyer_ids)]
            items = []
            for _ in range(size):
                sequence += 1
                draw = rng.random()
                order: Any
                if draw < 0.2 and live[buyer_id]:
                    order_id = live[buyer_id].pop(rng.randrange(len(live[buyer_id])))
                    order = CancelOrder(side="bid", order_id=order_id)
                elif 0.2 <= draw < 0.3:
                    order = PlaceBid(
                        instrument=rng.choice(instruments),
                        max_price_yen=1_000_000,
                        purpose=purpose,
                        time_in_force="IOC",
                    )
                else:
                    order = PlaceBid(
                        instrument=rng.choice(instruments),
                        max_price_yen=rng.randint(1, 500),
                        purpose=purpose,
                    )
                items.append(
                    BatchItem(
                        client_order_id=f"o-{sequence}", order=order, request_hash=str(sequence)
                    )
                )
            started = time.process_time()
            answers = market.orders.enter_batch(participant=buyers[buyer_id], items=items)
            spent = time.process_time() - started
            if number:
                rates.append(size / spent)
            for item, answer in zip(items, answers, strict=True):
                counts[answer.status] = counts.get(answer.status, 0) + 1
                if isinstance(item.order, CancelOrder) and answer.status == "cancelled":
                    cancelled.add(item.order.order_id)
                    accepted.discard(item.order.order_id)
                elif (
                    isinstance(item.order, PlaceBid)
                    and item.order.time_in_force == "GTC"
                    and answer.status == "accepted"
                ):
                    live[buyer_id].append(answer.order_id or "")
                    accepted.add(answer.order_id or "")
        with Session(market.db) as session:
            status = dict(session.exec(select(Bid.id, Bid.status)).all())
    problems = [i for i in accepted if status.get(i) != "open"]
    problems += [i for i in cancelled if status.get(i) != "cancelled"]
    rates.sort()
    return {
        "database": env["DATAMARKET_DATABASE_URL"].split(":")[0],
        "size": size,
        "orders_per_cpu_second_median": round(rates[len(rates) // 2]),
        "orders_per_cpu_second_best": round(rates[-1]),
        "answers": counts,
        "problems": len(problems),
    }


if __name__ == "__main__":
    main()
