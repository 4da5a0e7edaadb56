"""Bulk order entry: the items of `POST /orders/batch` and the answer to each."""

from dataclasses import dataclass, field
from typing import Any, Literal

from market.errors import MarketError, OrderRejected
from market.models import Trade
from market.trading.commands import OfferLicences, OfferRecords, PlaceBid

MAX_BATCH_ITEMS = 1_000


@dataclass(frozen=True, kw_only=True)
class CancelOrder:
    """Withdraw one of the participant's open bids or listings."""

    side: Literal["bid", "ask"]
    order_id: str


@dataclass(frozen=True, kw_only=True)
class BatchItem:
    """One order of a batch, with the client's id for it and a hash of what it asks."""

    client_order_id: str
    order: PlaceBid | OfferLicences | OfferRecords | CancelOrder
    request_hash: str


@dataclass(frozen=True, kw_only=True)
class BatchAnswer:
    """What became of one item: accepted (resting), traded, cancelled or rejected."""

    client_order_id: str
    status: str
    order_id: str | None = None
    trades: list[dict[str, Any]] = field(default_factory=list)
    problem: dict[str, Any] | None = None
    replayed: bool = False

    @classmethod
    def placed(
        cls,
        client_order_id: str,
        order_id: str,
        trades: list[Trade],
        rejection: OrderRejected | None,
        *,
        status: str | None = None,
        stored_status: str | None = None,
    ) -> "BatchAnswer":
        """An order the engine took: rejected, traded (at least in part), cancelled (given, or
        an IOC/FOK bid stored cancelled with nothing to fill) or accepted (resting)."""
        if rejection is not None:
            return cls(
                client_order_id=client_order_id,
                status="rejected",
                order_id=order_id,
                problem=_problem(rejection),
            )
        return cls(
            client_order_id=client_order_id,
            status=status or _placed_status(trades, stored_status),
            order_id=order_id,
            trades=[
                {
                    "id": t.id,
                    "listing_id": t.listing_id,
                    "bid_id": t.bid_id,
                    "dataset_id": t.dataset_id,
                    "price_yen": t.price_yen,
                    "quantity": t.quantity,
                }
                for t in trades
            ],
        )

    @classmethod
    def refused(cls, client_order_id: str, error: MarketError) -> "BatchAnswer":
        """Refused before it reached the engine: nothing was stored, a retry is evaluated anew."""
        return cls(client_order_id=client_order_id, status="rejected", problem=_problem(error))

    @classmethod
    def failed(cls, client_order_id: str) -> "BatchAnswer":
        """The market failed on this order; nothing of it was stored, a retry may succeed."""
        problem = {
            "title": "Internal error",
            "status": 500,
            "detail": "the market failed to handle this order; nothing of it was stored. Retry it",
        }
        return cls(client_order_id=client_order_id, status="rejected", problem=problem)

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> "BatchAnswer":
        return cls(**{**stored, "replayed": True})

    def stored(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "status": self.status,
            "order_id": self.order_id,
            "trades": self.trades,
            "problem": self.problem,
        }


def _placed_status(trades: list[Trade], stored_status: str | None) -> str:
    if trades:
        return "traded"
    return "cancelled" if stored_status == "cancelled" else "accepted"


def _problem(error: MarketError) -> dict[str, Any]:
    return {"title": error.title, "status": error.status, "detail": error.reason}
