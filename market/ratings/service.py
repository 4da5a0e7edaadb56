"""Ratings and credibility: rate a paid delivery, weigh the seller's record, re-score its datasets.

Each function works inside the caller's unit of work; `requote` returns the engine commands that
carry changed scores to resting asks, for the caller to submit in the same transaction.
"""

from typing import Any

from sqlmodel import Session, col, select

import matching
from market.banks.tables import PersonalListing
from market.errors import Conflict, InvalidRequest, NotFound
from market.events import record_event
from market.models import Dataset, Licence, Listing, Participant, Trade
from market.ratings.record import paid_yen
from market.ratings.tables import Rating
from market.trading.listings import listing_terms

MAX_COMMENT_CHARS = 2000


class AlreadyRated(Conflict):
    title = "Licence already rated"


class NotPaid(Conflict):
    title = "Licence not paid"


def rate_licence(
    *, session: Session, buyer: Participant, licence_id: str, stars: int, comment: str | None
) -> Rating:
    """Record the buyer's rating of one paid licence (once per licence)."""
    if not 1 <= stars <= 5:
        raise InvalidRequest("stars must be a whole number from 1 to 5")
    if comment is not None and len(comment) > MAX_COMMENT_CHARS:
        raise InvalidRequest(f"comment must be at most {MAX_COMMENT_CHARS:,} characters")
    licence = session.get(Licence, licence_id)
    if licence is None or licence.buyer_id != buyer.id:
        raise NotFound(f"you hold no licence {licence_id}")
    if session.exec(select(Rating.id).where(Rating.licence_id == licence_id)).first():
        raise AlreadyRated(f"licence {licence_id} is already rated; a licence is rated once")
    trade = session.get(Trade, licence.trade_id)
    if trade is None:
        raise NotFound(f"you hold no licence {licence_id}")
    paid = paid_yen(session=session, trade_id=trade.id)
    if paid <= 0:
        raise NotPaid(
            f"the invoice for licence {licence_id} is not paid yet; ratings come from paying "
            "buyers, so rate the delivery once it is paid"
        )
    rating = Rating(
        licence_id=licence.id,
        buyer_id=buyer.id,
        seller_id=trade.seller_id,
        dataset_id=licence.dataset_id,
        stars=stars,
        comment=comment,
        paid_yen=paid,
    )
    session.add(rating)
    session.flush()
    record_event(
        session,
        "DeliveryRated",
        {"rating_id": rating.id, "seller_id": trade.seller_id, "dataset_id": licence.dataset_id},
    )
    return rating


def requote(*, session: Session, datasets: list[Dataset]) -> list[Any]:
    """An engine `Update` per open listing of the datasets carrying the dataset's terms now.

    `Update` keeps each ask's time priority (docs/matching.md); among equal prices its rank may
    change, since quality is a priority key. Listings of PDS records keep their own terms.
    """
    if not datasets:
        return []
    by_id = {d.id: d for d in datasets}
    listings = session.exec(
        select(Listing)
        .where(col(Listing.dataset_id).in_(by_id), Listing.status == "open")
        .order_by(col(Listing.created_at), col(Listing.id))
    ).all()
    return [
        matching.Update(
            id=listing.id,
            instrument=listing.instrument,
            side=matching.Side.SELL,
            terms=listing_terms(listing, by_id[listing.dataset_id]),
            participant=listing.seller_id,
        )
        for listing in listings
        if session.get(PersonalListing, listing.id) is None
    ]
