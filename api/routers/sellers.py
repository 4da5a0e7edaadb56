"""Seller endpoints: upload datasets and list them for sale."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request, Response, UploadFile
from sqlmodel import Session

from api.deps import CurrentParticipant, MarketDep
from api.idempotency import IdempotencyKey, run_idempotent
from api.paging import Cursor, Limit, paginated
from api.ratelimit import UPLOAD_LIMIT, OrderEntrant
from api.routers.catalog import ListingEntry as ListingPublic
from api.schemas import (
    CohortPublic,
    DatasetPublic,
    ListingAmend,
    ListingCreate,
    QualityPublic,
    SellerBalance,
    SellerStatement,
    TradePublic,
)
from market.banks.orders import CohortView
from market.catalog import get_listing
from market.catalog.metadata import TEXT_BLOCK
from market.data.desk import DescribeDataset
from market.errors import UploadRejected
from market.models import Dataset, Listing, Trade
from market.purposes import PURPOSES
from market.quality.assess import parse_schema
from market.trading.commands import OfferRecords

router = APIRouter(tags=["sellers"])
# Text fields of an upload: one line without control characters (a NUL would fail in PostgreSQL).
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"


@router.post(
    "/datasets", response_model=DatasetPublic, status_code=201, dependencies=[UPLOAD_LIMIT]
)
def upload_dataset(
    market: MarketDep,
    seller: CurrentParticipant,
    file: UploadFile,
    title: Annotated[str, Form(min_length=1, max_length=200, pattern=ONE_LINE)],
    category: Annotated[str, Form(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=100)],
    data_class: Annotated[Literal["personal", "anonymized", "non_personal"], Form()],
    description: Annotated[str, Form(max_length=4000, pattern=TEXT_BLOCK)] = "",
    tags: Annotated[
        str, Form(max_length=1000, pattern=ONE_LINE, description="Comma-separated")
    ] = "",
    column_schema: Annotated[
        str | None,
        Form(
            alias="schema",
            max_length=512_000,
            description="Optional column dictionary, JSON (the DatasetSchema component: columns "
            "with name, type, unit, description, codes, minimum, maximum, pattern; "
            "timestamp_column, update_frequency_days, key_columns, rules); quality is measured "
            "against it (docs/quality.md)",
        ),
    ] = None,
) -> Dataset:
    """Upload a CSV (UTF-8, UTF-8 with BOM, or CP932); it is stored encrypted."""
    # A plain `def`: FastAPI runs it in the threadpool, so parsing and checking a large file
    # never holds up the event loop that answers everyone else.
    limit = market.settings.max_upload_bytes
    raw = file.file.read(limit + 1)
    if len(raw) > limit:
        raise UploadRejected(
            f"the file is over the {limit:,}-byte limit; split it and upload the parts"
        )
    about = DescribeDataset(
        title=title,
        category=category,
        data_class=data_class,
        description=description,
        tags=[tag.strip() for tag in tags.split(",") if tag.strip()],
        schema=parse_schema(column_schema) if column_schema else None,
    )
    return market.data.upload_dataset(seller=seller, raw=raw, about=about)


@router.get("/datasets", response_model=list[DatasetPublic])
def my_datasets(
    market: MarketDep,
    seller: CurrentParticipant,
    request: Request,
    response: Response,
    data_class: Literal["personal", "anonymized", "non_personal"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Dataset]:
    """Your datasets, newest first; filter by `data_class`."""
    equals = {"data_class": data_class} if data_class else {}
    page = market.find_page(Dataset, seller_id=seller.id, cursor=cursor, limit=limit, **equals)
    return paginated(request, response, page)


@router.get("/datasets/{dataset_id}", response_model=DatasetPublic)
def dataset(dataset_id: str, market: MarketDep, viewer: CurrentParticipant) -> dict[str, Any]:
    """A dataset's description: yours, one you hold a licence of, or one that is listed."""
    return market.dataset(viewer=viewer, dataset_id=dataset_id)


@router.get("/datasets/{dataset_id}/quality", response_model=QualityPublic)
def dataset_quality(
    dataset_id: str, market: MarketDep, viewer: CurrentParticipant
) -> dict[str, Any]:
    """How a dataset's quality score was measured: every component, its weight, and why."""
    return market.dataset_quality(viewer=viewer, dataset_id=dataset_id)


@router.post("/listings", response_model=ListingPublic, status_code=201)
def create_listing(
    body: ListingCreate,
    market: MarketDep,
    seller: OrderEntrant,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ListingPublic:
    """Offer licences of one of your datasets; it trades at once with any eligible resting bid.

    With `pool` instead of `dataset_id`, an information bank offers its delegators' records (an
    individual, their own), priced per record; only recipients whose purpose the people's
    conditions allow can match (docs/personal-data.md).
    """

    def render(session: Session, listing: Listing) -> ListingPublic:
        view = get_listing(session=session, viewer=seller, listing_id=listing.id)
        return ListingPublic.model_validate(view)

    def produce(claim: Any) -> Listing:
        offer = body.command()
        if isinstance(offer, OfferRecords):
            return market.orders.offer_records(seller=seller, offer=offer, claim=claim)
        return market.orders.offer_licences(seller=seller, offer=offer, claim=claim)

    return run_idempotent(
        market=market,
        participant=seller,
        key=idempotency_key,
        request=request,
        response=response,
        body=body,
        model=ListingPublic,
        produce=produce,
        render=render,
    )


@router.get("/listings/{listing_id}/cohort", response_model=CohortPublic)
def listing_cohort(
    listing_id: str,
    market: MarketDep,
    viewer: CurrentParticipant,
    purpose: Annotated[str, Query(max_length=140, json_schema_extra={"enum": sorted(PURPOSES)})],
) -> CohortView:
    """How many people's records buying this PDS listing would deliver to you for `purpose`.

    Below the listing's minimum cohort the answer is `below_minimum` without a number: no trade
    happens then, and a small count could single people out.
    """
    return market.banks.cohort(viewer=viewer, listing_id=listing_id, purpose=purpose)


@router.delete("/listings/{listing_id}", response_model=ListingPublic)
def cancel_listing(listing_id: str, market: MarketDep, seller: OrderEntrant) -> dict[str, Any]:
    """Withdraw an open listing; licences already sold stay valid."""
    listing = market.orders.cancel_listing(seller=seller, listing_id=listing_id)
    return market.listing(viewer=seller, listing_id=listing.id)


@router.patch("/listings/{listing_id}", response_model=ListingPublic)
def amend_listing(
    listing_id: str, body: ListingAmend, market: MarketDep, seller: OrderEntrant
) -> dict[str, Any]:
    """Change an open listing's price or licence count; it may trade at once.

    The listing keeps its place in the queue only when its price is unchanged and its count
    does not grow.
    """
    listing = market.orders.amend_listing(
        seller=seller,
        listing_id=listing_id,
        price_yen=body.price_yen,
        licence_count=body.licence_count,
    )
    return market.listing(viewer=seller, listing_id=listing.id)


@router.get("/sales", response_model=list[TradePublic])
def my_sales(
    market: MarketDep,
    seller: CurrentParticipant,
    request: Request,
    response: Response,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Trade]:
    """Your trades as a seller, newest first."""
    return paginated(
        request, response, market.trades(seller_id=seller.id, cursor=cursor, limit=limit)
    )


@router.get("/sales/balance", response_model=SellerBalance)
def my_balance(market: MarketDep, seller: CurrentParticipant) -> dict[str, int]:
    """Your gross sales, the market's fees, what you earned, were paid out and are owed."""
    return market.credit.seller_balance(seller)


@router.get("/sales/statements/{month}", response_model=SellerStatement)
def my_statement(
    month: Annotated[str, Path(pattern=r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$")],
    market: MarketDep,
    seller: CurrentParticipant,
) -> dict[str, Any]:
    """Your monthly statement (YYYY-MM, in JST): sales, tax, fees, refunds and payouts.

    It lists each invoice; `GET /invoices/{id}/document` shows your copy.
    """
    return market.settlement.statement(seller=seller, month=month)
