"""Trading activity shown beside a listing: its instrument's last trade and order-book depth.

Read from the stored orders and trades, so any API process can answer it without the engine.
Depth counts what rests per price level: open asks (listings) with the licences they still
offer, open bids with the datasets they still want. Who placed them is not shown.
"""

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from market.models import Bid, Listing, Trade

DEPTH_LEVELS = 10


def last_trade(*, session: Session, instrument: str) -> dict[str, Any] | None:
    """The instrument's most recent trade: its price per licence and when it happened."""
    row = session.exec(
        select(Trade.price_yen, Trade.created_at)
        .where(Trade.instrument == instrument)
        .order_by(col(Trade.seq).desc(), col(Trade.id).desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"price_yen": row[0], "at": row[1]}


def depth(*, session: Session, instrument: str, levels: int = DEPTH_LEVELS) -> dict[str, Any]:
    """The best `levels` price levels on each side: asks cheapest first, bids highest first.

    An ask level's `quantity` is null when one of its listings offers unlimited licences.
    """
    ask_rows = session.exec(
        select(
            Listing.price_yen,
            func.count(),
            func.sum(col(Listing.licence_count) - col(Listing.licences_sold)),
            func.count(col(Listing.licence_count)),
        )
        .where(Listing.instrument == instrument, Listing.status == "open")
        .group_by(col(Listing.price_yen))
        .order_by(col(Listing.price_yen).asc())
        .limit(levels)
    ).all()
    bid_rows = session.exec(
        select(Bid.max_price_yen, func.count(), func.sum(col(Bid.quantity) - col(Bid.filled)))
        .where(Bid.instrument == instrument, Bid.status == "open")
        .group_by(col(Bid.max_price_yen))
        .order_by(col(Bid.max_price_yen).desc())
        .limit(levels)
    ).all()
    return {
        "asks": [
            {
                "price_yen": price,
                "orders": orders,
                "quantity": int(remaining or 0) if limited == orders else None,
            }
            for price, orders, remaining, limited in ask_rows
        ],
        "bids": [
            {"price_yen": price, "orders": orders, "quantity": int(wanted or 0)}
            for price, orders, wanted in bid_rows
        ],
    }
