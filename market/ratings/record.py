"""A seller's record: what buyers paid, the credibility it earns, and the scores it moves."""

from typing import Any

from sqlmodel import Session, select

from market.errors import NotFound
from market.models import Dataset, Invoice, Licence, Participant, Trade
from market.quality import Credibility
from market.quality.scoring import rescore
from market.ratings.credibility import RatedDelivery, credibility_of
from market.ratings.tables import Rating


def paid_yen(*, session: Session, trade_id: str) -> int:
    """What the buyer paid for a trade and kept paid (paid invoices less refunds)."""
    invoices = session.exec(
        select(Invoice).where(Invoice.trade_id == trade_id, Invoice.status == "paid")
    ).all()
    return sum(invoice.amount_yen - invoice.refunded_yen for invoice in invoices)


def seller_credibility(*, session: Session, seller_id: str) -> Credibility | None:
    """The seller's credibility from its ratings, or None while it has none."""
    ratings = session.exec(select(Rating).where(Rating.seller_id == seller_id)).all()
    deliveries = session.exec(select(Licence.id).join(Trade).where(Trade.seller_id == seller_id))
    return credibility_of(
        [RatedDelivery(r.stars, r.paid_yen) for r in ratings], deliveries=len(deliveries.all())
    )


def credibility_view(*, session: Session, seller_id: str) -> dict[str, Any]:
    """A seller's credibility figure and record, for anyone (no buyer is named)."""
    if session.get(Participant, seller_id) is None:
        raise NotFound(f"participant {seller_id} does not exist")
    ratings = session.exec(select(Rating).where(Rating.seller_id == seller_id)).all()
    found = seller_credibility(session=session, seller_id=seller_id)
    return {
        "seller_id": seller_id,
        "status": "measured" if found is not None else "not_measured",
        "score": None if found is None else round(found.score, 2),
        "basis": "no rated deliveries yet" if found is None else found.basis,
        "ratings": len(ratings),
        "stars": {str(n): sum(1 for r in ratings if r.stars == n) for n in range(1, 6)},
    }


def rescore_dataset(*, session: Session, dataset: Dataset, credibility: Credibility | None) -> bool:
    """Weigh a dataset's stored breakdown with the seller's credibility; True if the score moved."""
    if dataset.quality is None:
        return False
    report = rescore(dataset.quality, credibility=credibility)
    before = dataset.quality_score
    dataset.quality = report.to_dict()
    dataset.quality_score = report.score
    session.add(dataset)
    return report.score != before


def rescore_seller(*, session: Session, seller_id: str) -> list[Dataset]:
    """Re-score every dataset of a seller with its current credibility; the ones that moved."""
    credibility = seller_credibility(session=session, seller_id=seller_id)
    datasets = session.exec(select(Dataset).where(Dataset.seller_id == seller_id)).all()
    return [
        d for d in datasets if rescore_dataset(session=session, dataset=d, credibility=credibility)
    ]
