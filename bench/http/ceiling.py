"""The three ceilings the market's order entry is compared with, as one tiny ASGI app.

- `POST /echo`: HTTP and body validation of a bid-shaped body, nothing else (no database).
- `POST /commit`: the same validation, then one SQLModel row committed per request.
- `POST /sequenced`: issue 14's design at its leanest, the floor any implementation of it pays
  on this stack. The caller's bearer key is looked up in a dict (compared in constant time), the
  body validated the same way, and the order handed to one writer thread. The thread drains
  what is queued (at most 256 orders), writes each order's journal row and order row with one
  multi-row insert per table, commits, and answers every waiting request on the event loop. No
  risk check, no book, no idempotency record, no outbox: what the market does beyond this is
  its own cost.

Served by the same uvicorn, with the same number of workers, as the market in the same run
(`bench/http/run.py`); the database is `DATAMARKET_BENCH_CEILING_DATABASE_URL`.
"""

import asyncio
import hmac
import json
import os
import queue
import threading
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Column as SqlColumn
from sqlalchemy import Engine, Integer, MetaData, String, Table, Text, insert
from sqlmodel import Field as Column
from sqlmodel import SQLModel

from market import db
from market.models import new_id, utcnow

Yen = Annotated[int, Field(ge=1, le=10**12)]


class Order(BaseModel):
    """The shape of `POST /bids` (api/schemas.py `BidCreate`), validated the same way."""

    instrument: str = Field(
        min_length=3,
        max_length=140,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*/(personal|anonymized|non_personal)$",
    )
    max_price_yen: Yen
    purpose: str = Field(min_length=1, max_length=50)
    quantity: int = Field(default=1, ge=1, le=1_000)
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"


class CeilingOrder(SQLModel, table=True):
    """One row per request; only this process (the ceiling server) ever imports it."""

    __tablename__ = "bench_ceiling_order"

    id: str = Column(default_factory=new_id, primary_key=True)
    instrument: str
    max_price_yen: int
    purpose: str
    quantity: int
    time_in_force: str


# The sequenced ceiling's journal: one row per order, its command as JSON text.
JOURNAL = Table(
    "bench_ceiling_journal",
    MetaData(),
    SqlColumn("seq", Integer, primary_key=True, autoincrement=True),
    SqlColumn("order_id", String, nullable=False),
    SqlColumn("command", Text, nullable=False),
    SqlColumn("created_at", String, nullable=False),
)
# The API key `ceiling.lua` sends; the sequenced route answers 401 to any other.
SEQUENCED_KEY = "dm_bench_ceiling"
SEQUENCED_BATCH_MAX = 256


class Sequencer:
    """One writer thread: drains queued orders, writes and commits them as one transaction,
    then resolves each request's future on its event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.queue: queue.SimpleQueue[tuple[dict[str, Any], Any, asyncio.Future[str]]] = (
            queue.SimpleQueue()
        )
        threading.Thread(target=self._run, name="ceiling-sequencer", daemon=True).start()

    def submit(self, row: dict[str, Any]) -> "asyncio.Future[str]":
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self.queue.put((row, loop, future))
        return future

    def _run(self) -> None:
        while True:
            jobs = [self.queue.get()]
            while len(jobs) < SEQUENCED_BATCH_MAX:
                try:
                    jobs.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            rows = [row for row, _, _ in jobs]
            at = utcnow().isoformat()
            failure: Exception | None = None
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(JOURNAL),
                        [
                            {"order_id": r["id"], "command": json.dumps(r), "created_at": at}
                            for r in rows
                        ],
                    )
                    connection.execute(insert(CeilingOrder.__table__), rows)  # type: ignore[attr-defined]
            except Exception as exc:  # every waiting request fails (a 500), none hangs
                failure = exc
            for row, loop, future in jobs:
                loop.call_soon_threadsafe(_resolve, future, row["id"], failure)


def _resolve(future: "asyncio.Future[str]", order_id: str, failure: Exception | None) -> None:
    if future.done():
        return
    if failure is not None:
        future.set_exception(failure)
    else:
        future.set_result(order_id)


app = FastAPI()
engine = db.make_engine(os.environ.get("DATAMARKET_BENCH_CEILING_DATABASE_URL", "sqlite://"))
SQLModel.metadata.create_all(engine, tables=[CeilingOrder.__table__])  # type: ignore[attr-defined]
JOURNAL.create(engine, checkfirst=True)
sequencer = Sequencer(engine)


@app.post("/echo", status_code=201)
async def echo(order: Order) -> Order:
    return order


@app.post("/commit", status_code=201)
def commit(order: Order) -> dict[str, str]:
    row = CeilingOrder(**order.model_dump())
    with db.unit_of_work(engine) as session:
        session.add(row)
    return {"id": row.id, "at": utcnow().isoformat()}


@app.post("/sequenced", status_code=201)
async def sequenced(order: Order, request: Request) -> Any:
    presented = request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(presented.encode(), SEQUENCED_KEY.encode()):
        return JSONResponse({"detail": "unknown API key"}, status_code=401)
    row = {"id": new_id(), **order.model_dump()}
    order_id = await sequencer.submit(row)
    return {"id": order_id, "status": "open"}
