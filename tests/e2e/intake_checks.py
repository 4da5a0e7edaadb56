"""What the order intake tests compare: the engine's live orders, the stored book and trades."""

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

import matching
from market.models import Bid, JournalCommand, Listing, Trade

# An order as the book holds it: (price, remaining licences); None: an unlimited ask.
Resting = tuple[int, int | None]
# A trade as the engine reports it: (seq, instrument, bid, listing, price, licences).
Fill = tuple[int, str, str, str, int, int]


def live_orders(engine: Any) -> dict[str, Resting]:
    """Every live order of an engine by id, from its snapshot (either build)."""
    books = engine.snapshot()["books"]
    return {record[0]: (record[4], record[5]) for book in books for record in book["orders"]}


def open_orders(session: Session) -> dict[str, Resting]:
    """Every open bid and listing the database holds, as the engine should hold it."""
    orders: dict[str, Resting] = {}
    for bid in session.exec(select(Bid).where(Bid.status == "open")):
        orders[bid.id] = (bid.max_price_yen, bid.quantity - bid.filled)
    for listing in session.exec(select(Listing).where(Listing.status == "open")):
        count = listing.licence_count
        orders[listing.id] = (
            listing.price_yen,
            None if count is None else count - listing.licences_sold,
        )
    return orders


def journal(session: Session) -> list[tuple[int, dict[str, Any]]]:
    """The journal's rows in order, as (format, payload)."""
    rows = session.exec(select(JournalCommand).order_by(col(JournalCommand.seq))).all()
    return [(row.format, row.payload) for row in rows]


def fills(events: Iterable[Any]) -> list[Fill]:
    """The trades among engine events, in the engine's order."""
    return [
        (e.seq, e.instrument, e.buy_id, e.sell_id, e.price, e.qty)
        for e in events
        if isinstance(e, matching.TradeExecuted)
    ]


def stored_fills(session: Session) -> list[Fill]:
    """The booked trades, in the engine's order."""
    trades = session.exec(select(Trade).order_by(col(Trade.seq))).all()
    return [(t.seq, t.instrument, t.bid_id, t.listing_id, t.price_yen, t.quantity) for t in trades]
