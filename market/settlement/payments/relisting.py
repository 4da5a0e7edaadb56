"""The licences of a trade that failed unpaid, given back to its listing in the order book.

Run in the order desk's trading transaction with the failure itself (`booking.expire_overdue`),
so the engine commands are journaled with it: the trade is voided in the engine (`Unwind`: a
limited ask still resting gets the licences back, keeping its place), and a listing the trade
had sold out, which left the book, is open again and placed anew for what is left of it.
"""

from typing import Any

from sqlmodel import Session

import matching
from market.banks.tables import PersonalListing
from market.models import Dataset, Listing, Trade
from market.trading.listings import listing_terms


def give_back(*, session: Session, trade: Trade) -> list[Any]:
    """The engine commands that give a failed trade's licences back to its listing (none for
    an unlimited listing, which lost none, or a closed one)."""
    listing = session.get(Listing, trade.listing_id)
    if (
        listing is None
        or listing.licence_count is None
        or session.get(PersonalListing, listing.id) is not None
    ):
        return []
    commands: list[Any] = [
        matching.Unwind(trade.instrument, trade.seq, trade.bid_id, listing.id, trade.quantity)
    ]
    left = listing.licence_count - listing.licences_sold
    dataset = session.get(Dataset, listing.dataset_id)
    if listing.status == "sold_out" and left > 0 and dataset is not None:
        listing.status = "open"
        listing.status_reason = None
        session.add(listing)
        session.flush()
        commands.append(
            matching.Limit(
                id=listing.id,
                instrument=listing.instrument,
                participant=listing.seller_id,
                side=matching.Side.SELL,
                price=listing.price_yen,
                qty=left,
                terms=listing_terms(listing, dataset),
            )
        )
    return commands
