"""The rows bulk entry writes with Core match the tables the ORM would fill."""

from market.models import Bid, Participant
from market.trading.bulk import plain_bid_row
from market.trading.commands import PlaceBid


def test_a_plain_bids_row_fills_every_column_of_the_bid_table() -> None:
    buyer = Participant(name="Buyer", kind="business")
    order = PlaceBid(
        instrument="mobility.traffic/non_personal",
        max_price_yen=500,
        purpose="research.academic",
        required_tags=["b", "a", "b"],
        confirms_linkable_consent=True,
    )

    row = plain_bid_row(buyer, order)
    orm = Bid(
        buyer_id=buyer.id,
        instrument=order.instrument,
        max_price_yen=500,
        quantity=1,
        purpose=order.purpose,
        constraints=row["constraints"],
    )

    assert set(row) == {column.key for column in Bid.__table__.columns}  # type: ignore[attr-defined]
    assert {k: v for k, v in row.items() if k not in ("id", "created_at")} == {
        k: getattr(orm, k) for k in row if k not in ("id", "created_at")
    }
    assert row["constraints"]["required_tags"] == ["a", "b"]
    assert row["constraints"]["confirms_linkable_consent"] is True
