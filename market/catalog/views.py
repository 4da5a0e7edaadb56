"""What buyers see of listings: the offer with its dataset's public description and quality.

A listing shows its seller's kind and chosen display name, never the participant id (for data
made by one person it would point at that person), and its allowed and denied recipients only to
the seller who set them.

A view is JSON-ready: every value is what validation against the API's model
(`api.routers.catalog.ListingEntry`) would leave there, in the model's field order, so GET
/listings serializes a page of views as it is (tests/integration/test_catalog_page.py holds the
bytes to the validated path's). Building views is most of a page's cost, so a view reads its
row by position, decodes JSON itself, and keeps what each distinct quality breakdown and catalog
entry shows (`KeptViews`, keyed by a digest of the stored text: a new score or new metadata is
new text, shown at once).
"""

from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from hashlib import sha256
from threading import Lock
from types import SimpleNamespace
from typing import Any, Generic, Literal, NamedTuple, TypeVar, cast

from pydantic import TypeAdapter
from pydantic_core import from_json
from sqlalchemy import JSON, Text
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col, select
from typing_extensions import TypedDict

from market.catalog.metadata import licence_view
from market.catalog.tables import CatalogEntry
from market.errors import NotFound
from market.models import Dataset, Licence, Listing, Participant
from market.participants import public_name

# Distinct quality breakdowns, and catalog entry details, whose views are kept (each).
KEPT_VIEWS = 4096
View = TypeVar("View")


@cache
def listing_columns() -> tuple[Any, ...]:
    """The columns a listing view is made of, in the order `listing_view` unpacks them (built
    once: SQL expressions are immutable, and building these costs a tenth of a millisecond).

    Selected as plain columns, not entities: a page of 100 listings is built from 100 rows
    without loading whole datasets (their schema and report JSON) or ORM objects. JSON columns
    are read as their text: `from_json` decodes a short list in a fifth of the time SQLAlchemy's
    JSON type takes, and a breakdown's kept view is found by its text.
    """
    return (
        *(
            _as_read(Listing, name)
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
            _as_read(Dataset, name)
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
        _as_read(CatalogEntry, "details"),
    )


def _as_read(table: Any, name: str) -> Any:
    """A column of `table` as a view reads it: JSON as its text (CAST AS TEXT on both
    databases), anything else as its type returns it."""
    column_: Any = col(getattr(table, name))
    return sql_cast(column_, Text).label(name) if isinstance(column_.type, JSON) else column_


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
    """One listing (a row of `listing_columns`, then any extra columns) as the viewer may see
    it, JSON-ready."""
    (
        listing_id,
        dataset_id,
        seller_id,
        instrument,
        price_yen,
        price_includes_tax,
        licence_count,
        licences_sold,
        allowed_purposes,
        term_days,
        exclusive,
        linkable,
        covers,
        status,
        status_reason,
        created_at,
        allowed_recipients,
        denied_recipients,
        title,
        description,
        data_class,
        columns,
        tags,
        row_count,
        quality_score,
        quality,
        privacy_k,
        seller_kind,
        seller_display_name,
        seller_name,
        seller_verification,
        update_frequency,
        details,
        *_,
    ) = row
    own = viewer_id == seller_id
    entry = entry_details(details)
    purposes = from_json(allowed_purposes)
    seller = SimpleNamespace(kind=seller_kind, display_name=seller_display_name, name=seller_name)
    display_name = public_name(cast(Participant, seller))
    return {
        "id": listing_id,
        "dataset_id": dataset_id,
        "instrument": instrument,
        "seller_kind": seller_kind,
        "seller_display_name": display_name,
        "seller": {
            "kind": seller_kind,
            "display_name": display_name,
            "verified": seller_verification == "verified",
        },
        "price_yen": price_yen,
        "price_includes_tax": price_includes_tax,
        "licence_count": licence_count,
        "licences_sold": licences_sold,
        "allowed_purposes": purposes,
        "term_days": term_days,
        "exclusive": exclusive,
        "linkable": linkable,
        "covers": covers,
        "status": status,
        "status_reason": status_reason,
        "created_at": created_at,
        "title": title,
        "description": description,
        "data_class": data_class,
        "columns": from_json(columns),
        "tags": from_json(tags),
        "row_count": row_count,
        "quality_score": quality_score,
        "quality": quality_summary(quality),
        "privacy_k": privacy_k,
        "update_frequency": update_frequency,
        "coverage": entry.coverage,
        "licence": licence_view(
            entry.stored, purposes=purposes, term_days=term_days, exclusive=exclusive
        ),
        "announcement": (f"/announcements/{dataset_id}" if data_class == "anonymized" else None),
        # Decoded for the seller only: nobody else is shown them.
        "allowed_recipients": from_json(allowed_recipients) if own else None,
        "denied_recipients": from_json(denied_recipients) if own else None,
    }


class QualityComponentView(TypedDict):
    """A component as listings show it: `api.schemas.QualityComponentPublic`'s fields."""

    name: str
    status: Literal["measured", "not_measured"]
    score: float | None
    weight: int
    effective_weight: float
    formula: str
    explanation: str


class QualitySummaryView(TypedDict):
    """A quality breakdown as listings show it: `api.schemas.QualitySummary`'s fields."""

    score: int
    method: str
    measured_at: datetime
    components: list[QualityComponentView]


class CoverageView(TypedDict):
    """What a listing shows of its coverage: `api.routers.catalog.CoveragePublic`'s fields."""

    period_start: date | None
    period_end: date | None
    geography: list[str]


# Pydantic's validators of the API models' field types: a kept view holds what validating the
# stored value against the models gives (a datetime for measured_at, 100.0 for a score stored as
# 100, no counts). tests/unit/market/test_catalog_views.py holds the two together.
_QUALITY_SUMMARY: TypeAdapter[QualitySummaryView | None] = TypeAdapter(QualitySummaryView | None)
_COVERAGE = TypeAdapter(CoverageView)


class KeptViews(Generic[View]):
    """Views of stored JSON texts, each kept under the SHA-256 of its text, the most recently
    used `size` of them: the same text is the same view, a changed text a new one. The digest,
    not the text, is kept: a quality breakdown's text runs to tens of kilobytes.

    A kept view is shared between pages and requests: never change it.
    """

    def __init__(self, build: Callable[[str], View], size: int = KEPT_VIEWS) -> None:
        self._build = build
        self._size = size
        self._views: OrderedDict[bytes, View] = OrderedDict()
        self._lock = Lock()

    def __call__(self, text: str) -> View:
        key = sha256(text.encode()).digest()
        with self._lock:
            if key in self._views:
                self._views.move_to_end(key)
                return self._views[key]
        view = self._build(text)
        with self._lock:
            self._views[key] = view
            if len(self._views) > self._size:
                self._views.popitem(last=False)
        return view


class EntryDetails(NamedTuple):
    """A catalog entry's stored details and the coverage a listing shows of them."""

    stored: dict[str, Any] | None
    coverage: dict[str, Any]


def _quality_summary(text: str) -> dict[str, Any] | None:
    # Validated from the JSON text itself: the counts behind each component, most of the text,
    # are skipped without becoming Python objects.
    return cast(dict[str, Any] | None, _QUALITY_SUMMARY.validate_json(text))


def _entry_details(text: str) -> EntryDetails:
    stored = from_json(text)
    coverage = (stored or {}).get("coverage") or {}
    shown = {
        "period_start": coverage.get("period_start"),
        "period_end": coverage.get("period_end"),
        "geography": coverage.get("geography", []),
    }
    return EntryDetails(stored, cast(dict[str, Any], _COVERAGE.validate_python(shown)))


_kept_quality = KeptViews(_quality_summary)
_kept_details = KeptViews(_entry_details)
_NO_DETAILS = _entry_details("null")


def quality_summary(text: str | None) -> dict[str, Any] | None:
    """The breakdown a listing shows of a dataset's stored quality (its JSON text), kept."""
    return None if text is None else _kept_quality(text)


def entry_details(text: str | None) -> EntryDetails:
    """A catalog entry's stored details (their JSON text) and its coverage view, kept."""
    return _NO_DETAILS if text is None else _kept_details(text)


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
