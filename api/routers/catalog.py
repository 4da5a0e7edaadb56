"""Catalog endpoints: find listings, see one in full, and describe your dataset for buyers."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from pydantic_core import to_json

from api.deps import CurrentParticipant, MarketDep
from api.paging import Cursor, Limit, paginated
from api.schemas import QualitySummary
from market.catalog import CatalogDesk, ListingFilter
from market.catalog.metadata import ListingMetadata, UpdateFrequency

router = APIRouter(tags=["catalog"])


def catalog_desk(market: MarketDep) -> CatalogDesk:
    return market.catalog


CatalogDep = Annotated[CatalogDesk, Depends(catalog_desk)]
DataClass = Literal["personal", "anonymized", "non_personal"]


class SellerProfile(BaseModel):
    """The seller as buyers see it: never its participant id."""

    kind: str
    display_name: str
    verified: bool = Field(description="An operator verified its category, country and profile")


class CoveragePublic(BaseModel):
    period_start: date | None = None
    period_end: date | None = None
    geography: list[str] = Field(default_factory=list)


class LicenceOffer(BaseModel):
    """The licence a listing offers: a standard template completed by the listing's terms."""

    template: str
    template_summary: str
    purposes: list[str]
    term_days: int | None
    exclusive: bool
    redistribution: Literal["forbidden"]
    custom_terms: list[str]


class ListingEntry(BaseModel):
    """A listing as every participant sees it: what is offered, never who may not buy it."""

    id: str
    dataset_id: str
    instrument: str
    seller_kind: str
    seller_display_name: str
    seller: SellerProfile
    price_yen: int
    price_includes_tax: bool = False
    licence_count: int | None
    licences_sold: int
    allowed_purposes: list[str]
    term_days: int | None
    exclusive: bool
    linkable: bool = Field(
        default=False,
        description="Holds identifiers a buyer could link to a person (個人関連情報): a bid "
        "must confirm the people's consent",
    )
    covers: str = Field(default="revision", description="Which revisions a licence covers")
    status: str
    status_reason: str | None
    created_at: datetime
    title: str
    description: str
    data_class: str
    columns: list[str]
    tags: list[str]
    row_count: int
    quality_score: int
    quality: QualitySummary | None = Field(
        default=None,
        description="The components of quality_score (null for datasets scored before they were "
        "kept); GET /datasets/{id}/quality adds the counts behind each",
    )
    privacy_k: int | None
    update_frequency: str | None
    coverage: CoveragePublic
    licence: LicenceOffer
    announcement: str | None = Field(
        description="The public notice of 匿名加工情報 (anonymized data only)"
    )
    allowed_recipients: list[str] | None = Field(
        default=None, description="Shown to the listing's seller only"
    )
    denied_recipients: list[str] | None = Field(
        default=None, description="Shown to the listing's seller only"
    )


class ColumnEntry(BaseModel):
    """One column of the dictionary: declared type and codes, and the seller's notes."""

    name: str
    type: str
    semantic_tag: str | None
    unit: str | None
    description: str | None
    codes: list[str] | None
    minimum: int | float | str | None
    maximum: int | float | str | None


class SamplePreview(BaseModel):
    kind: Literal["real", "synthetic"] = Field(
        description="real: the first rows (non_personal data only); synthetic: made-up values "
        "of each column's declared type, never a stored value"
    )
    columns: list[str]
    rows: list[list[str]]


class LastTrade(BaseModel):
    price_yen: int
    at: datetime


class DepthLevel(BaseModel):
    price_yen: int
    orders: int
    quantity: int | None = Field(description="Licences (asks) or datasets (bids); null: unlimited")


class Depth(BaseModel):
    asks: list[DepthLevel]
    bids: list[DepthLevel]


class ListingDetail(ListingEntry):
    """A listing in full: the list entry plus its column dictionary, a sample preview, and its
    instrument's last trade and order-book depth."""

    column_dictionary: list[ColumnEntry]
    sample: SamplePreview
    last_trade: LastTrade | None
    depth: Depth


class MetadataPublic(BaseModel):
    """A dataset's listing metadata as its seller set it, and the dictionary buyers see."""

    dataset_id: str
    title: str
    description: str
    tags: list[str]
    columns: list[dict[str, Any]]
    coverage: CoveragePublic | None
    update_frequency: str | None
    licence: dict[str, Any] | None
    column_dictionary: list[ColumnEntry]


Status = Literal["open", "sold_out", "cancelled", "rejected", "expired"]
Sort = Literal["recency", "price", "price_desc", "quality"]
Price = Annotated[int | None, Query(ge=0, le=10**12)]


@router.get("/listings", response_model=list[ListingEntry])
def listings(
    catalog: CatalogDep,
    viewer: CurrentParticipant,
    request: Request,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Text search: every whitespace-separated term must occur in the title, description, tags, columns or metadata; case and "
            "full-width/half-width forms are ignored",
        ),
    ] = None,
    status: Status | None = "open",
    instrument: Annotated[str | None, Query(max_length=140)] = None,
    tags: Annotated[
        list[str] | None, Query(max_length=20, description="Every tag given (repeat the parameter)")
    ] = None,
    data_class: DataClass | None = None,
    min_quality: Annotated[int | None, Query(ge=0, le=100)] = None,
    min_k: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    min_price_yen: Price = None,
    max_price_yen: Price = None,
    update_frequency: UpdateFrequency | None = None,
    seller_kind: Literal["business", "individual", "info_bank"] | None = None,
    mine: bool = False,
    sort: Annotated[
        Sort,
        Query(description="recency (newest first), price, price_desc or quality (highest first)"),
    ] = "recency",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """Listings across the market with each dataset's public description; ties break by id.

    Filters: `q`, `status` (default open), `instrument`, `tags`, `data_class`, `min_quality`,
    `min_k`, `min_price_yen`, `max_price_yen`, `update_frequency`, `seller_kind`, `mine`.
    """
    where = ListingFilter(
        status=status,
        instrument=instrument,
        data_class=data_class,
        min_quality=min_quality,
        mine=mine,
        q=q,
        tags=tuple(tags or ()),
        min_k=min_k,
        min_price_yen=min_price_yen,
        max_price_yen=max_price_yen,
        update_frequency=update_frequency,
        seller_kind=seller_kind,
    )
    page = catalog.listings(viewer=viewer, where=where, sort=sort, cursor=cursor, limit=limit)
    # The views are already what validation against `response_model` would leave
    # (market/catalog/views.py), so the page is serialized as it is, here, into the bytes
    # pydantic's dump_json of the validated models gives (infinities and NaN as null, as
    # there): FastAPI passes a returned Response through without validating it or another
    # trip through the thread pool.
    body = to_json(page.items, inf_nan_mode="null")
    response = Response(body, media_type="application/json")
    paginated(request, response, page)
    return response


@router.get("/listings/{listing_id}", response_model=ListingDetail)
def listing(listing_id: str, catalog: CatalogDep, viewer: CurrentParticipant) -> dict[str, Any]:
    """One listing in full: metadata, column dictionary, sample preview, quality breakdown, and
    its instrument's last trade price and depth."""
    return catalog.listing_detail(viewer=viewer, listing_id=listing_id)


@router.put("/datasets/{dataset_id}/metadata", response_model=MetadataPublic)
def set_metadata(
    dataset_id: str, body: ListingMetadata, catalog: CatalogDep, seller: CurrentParticipant
) -> dict[str, Any]:
    """Describe your dataset for buyers: column notes, coverage, update frequency, licence.

    Replaces what was set before; `title`, `description` and `tags`, when given, replace the
    dataset's own. A column not in the dataset, or a period that ends before it starts, is
    refused (422) and nothing is stored.
    """
    return catalog.set_metadata(seller=seller, dataset_id=dataset_id, metadata=body)


@router.get("/datasets/{dataset_id}/metadata", response_model=MetadataPublic)
def metadata(dataset_id: str, catalog: CatalogDep, seller: CurrentParticipant) -> dict[str, Any]:
    """Your dataset's listing metadata."""
    return catalog.metadata_of(viewer=seller, dataset_id=dataset_id)
