"""The two ceilings the market's order entry is compared with, as one tiny ASGI app.

- `POST /echo`: HTTP and body validation of a bid-shaped body, nothing else (no database).
- `POST /commit`: the same validation, then one SQLModel row committed per request.

Served by the same uvicorn, with the same number of workers, as the market in the same run
(`bench/http/run.py`); the database is `DATAMARKET_BENCH_CEILING_DATABASE_URL`.
"""

import os
from typing import Annotated, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field
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


app = FastAPI()
engine = db.make_engine(os.environ.get("DATAMARKET_BENCH_CEILING_DATABASE_URL", "sqlite://"))
SQLModel.metadata.create_all(engine, tables=[CeilingOrder.__table__])  # type: ignore[attr-defined]


@app.post("/echo", status_code=201)
async def echo(order: Order) -> Order:
    return order


@app.post("/commit", status_code=201)
def commit(order: Order) -> dict[str, str]:
    row = CeilingOrder(**order.model_dump())
    with db.unit_of_work(engine) as session:
        session.add(row)
    return {"id": row.id, "at": utcnow().isoformat()}
