"""What buyers see of listings: the offer with its dataset's public description and quality.

A listing shows its seller's kind and chosen display name, never the participant id (for data
made by one person it would point at that person), and its allowed and denied recipients only to
the seller who set them.
"""

from types import SimpleNamespace
from typing import Any, cast

from sqlmodel import Session, col, select

from market.catalog.metadata import licence_view
from market.catalog.tables import CatalogEntry
from market.errors import NotFound
from market.models import Dataset, Licence, Listing, Participant
from market.participants import public_name


def listing_columns() -> tuple[Any, ...]:
    """The columns a listing view is made of, named as `listing_view` reads them.

    Selected as plain columns, not entities: a page of 100 listings is built from 100 rows
    without loading whole datasets (their schema, report and breakdown JSON) or ORM objects.
    """
    return (
        *(
            col(getattr(Listing, name))
            for name in (
                "id",
                "dataset_id",
                "seller_id",
                "instrument",
                "price_yen",
                "price_includes_tax",
                "licence_count",
                "licences_sold",
                "allowed_purposes",
                "term_days",
                "exclusive",
                "linkable",
                "covers",
                "status",
                "status_reason",
                "created_at",
                "allowed_recipients",
                "denied_recipients",
            )
        ),
        *(
            col(getattr(Dataset, name))
            for name in (
                "title",
                "description",
                "data_class",
                "columns",
                "tags",
                "row_count",
                "quality_score",
                "quality",
                "privacy_k",
            )
        ),
        col(Participant.kind).label("seller_kind"),
        col(Participant.display_name).label("seller_display_name"),
        col(Participant.name).label("seller_name"),
        col(Participant.verification).label("seller_verification"),
        col(CatalogEntry.update_frequency).label("update_frequency"),
        col(CatalogEntry.details).label("details"),
    )


def joined(*columns: Any) -> Any:
    """SELECT `columns` from listings joined to their dataset, seller and catalog entry."""
    return (
        select(*columns)
        .select_from(Listing)
        .join(Dataset, col(Dataset.id) == col(Listing.dataset_id))
        .join(Participant, col(Participant.id) == col(Listing.seller_id))
        .outerjoin(CatalogEntry, col(CatalogEntry.dataset_id) == col(Listing.dataset_id))
    )


def listing_view(row: Any, *, viewer_id: str) -> dict[str, Any]:
    """One listing (a row of `listing_columns`) as the viewer may see it."""
    # One conversion to a dict: reading 40 attributes of a Row costs more than the dict.
    row = SimpleNamespace(**row._asdict())
    own = viewer_id == row.seller_id
    details = row.details
    coverage = (details or {}).get("coverage") or {}
    seller = SimpleNamespace(
        kind=row.seller_kind, display_name=row.seller_display_name, name=row.seller_name
    )
    display_name = public_name(cast(Participant, seller))
    return {
        "id": row.id,
        "dataset_id": row.dataset_id,
        "instrument": row.instrument,
        "seller_kind": row.seller_kind,
        "seller_display_name": display_name,
        "seller": {
            "kind": row.seller_kind,
            "display_name": display_name,
            "verified": row.seller_verification == "verified",
        },
        "price_yen": row.price_yen,
        "price_includes_tax": row.price_includes_tax,
        "licence_count": row.licence_count,
        "licences_sold": row.licences_sold,
        "allowed_purposes": row.allowed_purposes,
        "term_days": row.term_days,
        "exclusive": row.exclusive,
        "linkable": row.linkable,
        "covers": row.covers,
        "status": row.status,
        "status_reason": row.status_reason,
        "created_at": row.created_at,
        "title": row.title,
        "description": row.description,
        "data_class": row.data_class,
        "columns": row.columns,
        "tags": row.tags,
        "row_count": row.row_count,
        "quality_score": row.quality_score,
        "quality": row.quality,
        "privacy_k": row.privacy_k,
        "update_frequency": row.update_frequency,
        "coverage": {
            "period_start": coverage.get("period_start"),
            "period_end": coverage.get("period_end"),
            "geography": coverage.get("geography", []),
        },
        "licence": licence_view(details, row),
        "announcement": (
            f"/announcements/{row.dataset_id}" if row.data_class == "anonymized" else None
        ),
        "allowed_recipients": row.allowed_recipients if own else None,
        "denied_recipients": row.denied_recipients if own else None,
    }


def listing_row(session: Session, listing_id: str, *extra: Any) -> Any:
    """One listing's row of `listing_columns` (and `extra` columns); NotFound if missing."""
    query = joined(*listing_columns(), *extra).where(col(Listing.id) == listing_id)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"listing {listing_id} does not exist")
    return row


def get_listing(*, session: Session, viewer: Participant, listing_id: str) -> dict[str, Any]:
    """One listing as the viewer may see it (the list entry's fields)."""
    return listing_view(listing_row(session, listing_id), viewer_id=viewer.id)


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
