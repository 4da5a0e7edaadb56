"""Bulk order entry for market makers and information banks: `POST /orders/batch`."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import CurrentParticipant, MarketDep
from api.ratelimit import client_address
from api.schemas import BidCreate, Id, ListingCreate
from api.schemas import Request as StrictRequest
from market.idempotency import fingerprint
from market.trading.batch import MAX_BATCH_ITEMS, BatchItem, CancelOrder

router = APIRouter(tags=["orders"])

ClientOrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Your id for this order: a retry with the same id is answered, not repeated",
    ),
]


class BatchBid(BidCreate):
    action: Literal["bid"]
    client_order_id: ClientOrderId


class BatchAsk(ListingCreate):
    action: Literal["ask"]
    client_order_id: ClientOrderId


class BatchCancel(StrictRequest):
    action: Literal["cancel"]
    client_order_id: ClientOrderId
    side: Literal["bid", "ask"] = Field(description="Whether order_id is a bid or a listing")
    order_id: Id


BatchOrder = Annotated[BatchBid | BatchAsk | BatchCancel, Field(discriminator="action")]


class OrderBatch(StrictRequest):
    orders: list[BatchOrder] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class BatchProblem(BaseModel):
    title: str
    status: int
    detail: str


class BatchTrade(BaseModel):
    id: str
    listing_id: str
    bid_id: str
    dataset_id: str
    price_yen: int
    quantity: int


class BatchResult(BaseModel):
    client_order_id: str
    status: Literal["accepted", "traded", "cancelled", "rejected"] = Field(
        description="accepted: resting in the book; traded: filled at least in part at once "
        "(an ask: sold to resting bids); cancelled: withdrawn, or an IOC/FOK bid that found "
        "nothing to fill; rejected: see `problem` (nothing of it was stored unless `order_id` "
        "is set)"
    )
    order_id: str | None
    trades: list[BatchTrade]
    problem: BatchProblem | None
    replayed: bool = Field(description="Answered from an earlier request with this id")


class OrderBatchResult(BaseModel):
    results: list[BatchResult]


@router.post("/orders/batch", response_model=OrderBatchResult)
def enter_orders(
    body: OrderBatch, market: MarketDep, participant: CurrentParticipant, request: Request
) -> dict[str, Any]:
    """Up to 1,000 new bids, asks or cancels in one request, answered in order, one result each.

    Each order is atomic on its own (never the batch as a whole) and counts against your
    order-entry rate limit. A `client_order_id` already used answers with the first result.
    """
    limiter = request.app.state.rate_limiter
    cost = len(body.orders)
    limiter.require("order_entry", f"participant:{participant.id}", "orders and cancels", cost)
    limiter.require(
        "order_entry", f"address:{client_address(request.scope)}", "orders from your address", cost
    )
    items = [
        BatchItem(
            client_order_id=order.client_order_id,
            order=_command(order),
            request_hash=fingerprint("POST", "/orders/batch", order.model_dump(mode="json")),
        )
        for order in body.orders
    ]
    answers = market.orders.enter_batch(participant=participant, items=items)
    return {"results": [vars(answer) for answer in answers]}


def _command(order: BatchBid | BatchAsk | BatchCancel) -> Any:
    if isinstance(order, BatchCancel):
        return CancelOrder(side=order.side, order_id=order.order_id)
    return order.command()
