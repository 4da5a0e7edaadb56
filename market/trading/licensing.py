"""Licence rules checked before an order reaches the engine: exclusivity, duplicates, redistribution.

- Exclusivity: an exclusive licence excludes every other live licence and open listing of its
  dataset and of every dataset derived from the same source (the `source_dataset_id` chain), for
  its term. So an exclusive listing may open only where no other listing is open and no licence is
  live in the family, and nothing else may be listed in the family while an exclusive listing is
  open or an exclusive licence is live.
- Duplicates: a buyer holding a live licence of a dataset for a purpose cannot buy the same
  licence again (it would pay twice); a different purpose or a required term is a new licence.
- Redistribution: the market's licences forbid redistribution, so a dataset whose content hash
  equals that of a dataset its uploader bought cannot be listed by that uploader.
"""

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from market.errors import Conflict, Forbidden
from market.models import Dataset, Licence, Listing, Participant, utcnow


class ExclusivityConflict(Conflict):
    title = "Exclusive licence conflict"


class DuplicateLicence(Conflict):
    title = "Licence already held"


class RedistributionForbidden(Forbidden):
    title = "Redistribution forbidden"


def dataset_family(*, session: Session, dataset: Dataset) -> set[str]:
    """Ids of the dataset, its source chain and everything derived from the chain's root."""
    root = dataset
    seen = {root.id}
    while root.source_dataset_id is not None and root.source_dataset_id not in seen:
        parent = session.get(Dataset, root.source_dataset_id)
        if parent is None:
            break
        root = parent
        seen.add(root.id)
    family = {root.id}
    frontier = [root.id]
    while frontier:
        children = session.exec(
            select(Dataset.id).where(col(Dataset.source_dataset_id).in_(frontier))
        ).all()
        frontier = [child for child in children if child not in family]
        family.update(frontier)
    return family


def live_licence(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Not revoked and not expired at `now` (a time, or a bound parameter of one)."""
    return and_(
        col(Licence.revoked_at).is_(None),
        or_(col(Licence.expires_at).is_(None), col(Licence.expires_at) > now),
    )


def require_listable(
    *, session: Session, seller: Participant, dataset: Dataset, exclusive: bool
) -> None:
    """Refuse a listing that would break an exclusive licence or resell bought data."""
    _require_not_bought(session=session, seller=seller, dataset=dataset)
    family = dataset_family(session=session, dataset=dataset)
    now = utcnow()
    exclusive_licence = session.exec(
        select(Licence).where(
            col(Licence.dataset_id).in_(family), col(Licence.exclusive).is_(True), live_licence(now)
        )
    ).first()
    if exclusive_licence is not None:
        until = (
            exclusive_licence.expires_at.date().isoformat()
            if exclusive_licence.expires_at
            else "without end"
        )
        raise ExclusivityConflict(
            f"dataset {dataset.id} (or data derived from the same source) is licensed exclusively "
            f"until {until}; it cannot be listed again during that term"
        )
    open_listings = session.exec(
        select(Listing).where(col(Listing.dataset_id).in_(family), Listing.status == "open")
    ).all()
    if any(listing.exclusive for listing in open_listings):
        raise ExclusivityConflict(
            f"an exclusive listing of dataset {dataset.id} (or of data derived from the same "
            "source) is open; cancel it before listing the data again"
        )
    if not exclusive:
        return
    if open_listings:
        raise ExclusivityConflict(
            "an exclusive licence excludes every other listing of the data: cancel the open "
            f"listings {', '.join(sorted(listing.id for listing in open_listings))} first"
        )
    live = session.exec(
        select(Licence.id).where(col(Licence.dataset_id).in_(family), live_licence(now))
    )
    if live.first() is not None:
        raise ExclusivityConflict(
            "licences of this data (or of data derived from the same source) are still live, so "
            "an exclusive licence can no longer be promised; list it non-exclusively"
        )


def _require_not_bought(*, session: Session, seller: Participant, dataset: Dataset) -> None:
    bought = session.exec(
        select(Dataset.id)
        .join(Licence, col(Licence.dataset_id) == col(Dataset.id))
        .where(
            Licence.buyer_id == seller.id,
            or_(
                col(Dataset.sha256) == dataset.sha256,
                # A bought copy's bytes differ (its fingerprint); its content does not.
                and_(
                    col(Dataset.content_digest).is_not(None),
                    col(Dataset.content_digest) == dataset.content_digest,
                ),
            ),
            Dataset.seller_id != seller.id,
        )
    ).first()
    if bought is not None:
        raise RedistributionForbidden(
            f"this data is identical to dataset {bought}, which you bought under a licence that "
            "forbids redistribution; it cannot be listed"
        )
