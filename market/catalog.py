"""What buyers see of listings: the offer with its dataset's public description and quality.

A listing shows its seller's kind and chosen display name, never the participant id (for data
made by one person it would point at that person), and its allowed and denied recipients only to
the seller who set them.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from market.errors import NotFound
from market.models import Dataset, Licence, Listing, Participant
from market.paging import Page, fetch_page
from market.participants import public_name


@dataclass(frozen=True)
class ListingFilter:
    """Documented filters of GET /listings."""

    status: str | None = "open"
    instrument: str | None = None
    data_class: str | None = None
    min_quality: int | None = None
    mine: bool = False


def listing_view(
    *, listing: Listing, dataset: Dataset, seller: Participant, viewer: Participant
) -> dict[str, Any]:
    """One listing as the viewer may see it."""
    own = viewer.id == listing.seller_id
    return {
        "id": listing.id,
        "dataset_id": listing.dataset_id,
        "instrument": listing.instrument,
        "seller_kind": seller.kind,
        "seller_display_name": public_name(seller),
        "price_yen": listing.price_yen,
        "price_includes_tax": listing.price_includes_tax,
        "licence_count": listing.licence_count,
        "licences_sold": listing.licences_sold,
        "allowed_purposes": listing.allowed_purposes,
        "term_days": listing.term_days,
        "exclusive": listing.exclusive,
        "status": listing.status,
        "status_reason": listing.status_reason,
        "created_at": listing.created_at,
        "title": dataset.title,
        "description": dataset.description,
        "data_class": dataset.data_class,
        "columns": dataset.columns,
        "tags": dataset.tags,
        "row_count": dataset.row_count,
        "quality_score": dataset.quality_score,
        "quality": dataset.quality,
        "privacy_k": dataset.privacy_k,
        "announcement": (
            f"/announcements/{dataset.id}" if dataset.data_class == "anonymized" else None
        ),
        "allowed_recipients": listing.allowed_recipients if own else None,
        "denied_recipients": listing.denied_recipients if own else None,
    }


def find_listings(
    *,
    session: Session,
    viewer: Participant,
    where: ListingFilter,
    cursor: str | None = None,
    limit: int = 100,
) -> Page[dict[str, Any]]:
    """Listings matching the filter, newest first, as the viewer may see them."""
    query: Any = (
        select(Listing, Dataset, Participant)
        .join(Dataset, col(Dataset.id) == col(Listing.dataset_id))
        .join(Participant, col(Participant.id) == col(Listing.seller_id))
    )
    if where.status is not None:
        query = query.where(Listing.status == where.status)
    if where.instrument is not None:
        query = query.where(Listing.instrument == where.instrument)
    if where.data_class is not None:
        query = query.where(Dataset.data_class == where.data_class)
    if where.min_quality is not None:
        query = query.where(col(Dataset.quality_score) >= where.min_quality)
    if where.mine:
        query = query.where(Listing.seller_id == viewer.id)
    page = fetch_page(
        session=session,
        query=query,
        keys=(Listing.created_at, Listing.id),
        kinds=(datetime, str),
        cursor=cursor,
        limit=limit,
    )
    views = [
        listing_view(listing=listing, dataset=dataset, seller=seller, viewer=viewer)
        for listing, dataset, seller in page.items
    ]
    return Page(views, page.next_cursor)


def visible_dataset(*, session: Session, viewer: Participant, dataset_id: str) -> dict[str, Any]:
    """A dataset's public description for its seller, operators, licence holders, and anyone
    while it is listed; the seller's id only for the seller and operators."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    privileged = viewer.id == dataset.seller_id or viewer.kind == "operator"
    listed = session.exec(
        select(Listing.id).where(Listing.dataset_id == dataset.id, Listing.status == "open")
    ).first()
    licensed = session.exec(
        select(Licence.id).where(Licence.dataset_id == dataset.id, Licence.buyer_id == viewer.id)
    ).first()
    if not (privileged or listed or licensed) or (
        dataset.data_class == "personal" and not privileged
    ):
        raise NotFound(f"dataset {dataset_id} does not exist or is not listed")
    view = dataset.model_dump()
    if not privileged:
        view["seller_id"] = None
    return view


def get_listing(*, session: Session, viewer: Participant, listing_id: str) -> dict[str, Any]:
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound(f"listing {listing_id} does not exist")
    dataset = session.get(Dataset, listing.dataset_id)
    seller = session.get(Participant, listing.seller_id)
    if dataset is None or seller is None:
        raise NotFound(f"listing {listing_id} does not exist")
    return listing_view(listing=listing, dataset=dataset, seller=seller, viewer=viewer)
