"""Ratings as use cases: one trading unit of work each (the rating, the re-scores, the requotes)."""

from typing import Any

from sqlmodel import Session

from market.models import Participant
from market.ratings.record import credibility_view, rescore_seller
from market.ratings.service import rate_licence, requote
from market.ratings.tables import Rating
from market.ratings.unit import apply_commands
from market.trading.desk import OrderDesk


class RatingsDesk:
    """Rate deliveries and read sellers' credibility."""

    def __init__(self, orders: OrderDesk) -> None:
        self.orders = orders

    def rate(
        self, *, buyer: Participant, licence_id: str, stars: int, comment: str | None = None
    ) -> Rating:
        """Rate a paid licence; the seller's datasets are re-scored and open asks requoted."""

        def work(session: Session) -> Rating:
            rating = rate_licence(
                session=session, buyer=buyer, licence_id=licence_id, stars=stars, comment=comment
            )
            moved = rescore_seller(session=session, seller_id=rating.seller_id)
            apply_commands(self.orders, session, requote(session=session, datasets=moved))
            return rating

        return self.orders.transaction(work)

    def credibility(self, *, seller_id: str) -> dict[str, Any]:
        with Session(self.orders.db) as session:
            return credibility_view(session=session, seller_id=seller_id)
