"""Seller endpoints: upload datasets and list them for sale."""

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response, UploadFile

from api.deps import CurrentParticipant, MarketDep
from api.idempotency import IdempotencyKey, run_idempotent
from api.schemas import DatasetPublic, ListingCreate, ListingPublic
from market.errors import NotFound, UploadRejected
from market.models import Dataset, Listing

router = APIRouter(tags=["sellers"])


@router.post("/datasets", response_model=DatasetPublic, status_code=201)
async def upload_dataset(
    market: MarketDep,
    seller: CurrentParticipant,
    file: UploadFile,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    category: Annotated[str, Form(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$", max_length=100)],
    data_class: Annotated[Literal["personal", "anonymized", "non_personal"], Form()],
    description: Annotated[str, Form(max_length=4000)] = "",
    tags: Annotated[str, Form(max_length=1000, description="Comma-separated")] = "",
) -> Dataset:
    """Upload a CSV (UTF-8, UTF-8 with BOM, or CP932); it is stored encrypted."""
    limit = market.settings.max_upload_bytes
    raw = await file.read(limit + 1)
    if len(raw) > limit:
        raise UploadRejected(
            f"the file is over the {limit:,}-byte limit; split it and upload the parts"
        )
    return market.upload_dataset(
        seller=seller,
        raw=raw,
        title=title,
        category=category,
        data_class=data_class,
        description=description,
        tags=[tag.strip() for tag in tags.split(",") if tag.strip()],
    )


@router.get("/datasets", response_model=list[DatasetPublic])
def my_datasets(market: MarketDep, seller: CurrentParticipant) -> list[Dataset]:
    return market.find(Dataset, seller_id=seller.id)


@router.post("/listings", response_model=ListingPublic, status_code=201)
def create_listing(
    body: ListingCreate,
    market: MarketDep,
    seller: CurrentParticipant,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ListingPublic:
    """Offer licences of one of your datasets; it trades at once with any eligible resting bid."""

    def produce() -> ListingPublic:
        listing = market.list_dataset(seller=seller, **body.model_dump())
        return ListingPublic.model_validate(listing)

    return run_idempotent(
        market=market,
        participant=seller,
        key=idempotency_key,
        request=request,
        response=response,
        body=body,
        model=ListingPublic,
        produce=produce,
    )


@router.delete("/listings/{listing_id}", response_model=ListingPublic)
def cancel_listing(listing_id: str, market: MarketDep, seller: CurrentParticipant) -> Listing:
    """Withdraw an open listing; licences already sold stay valid."""
    order = market.cancel_order(participant=seller, order_id=listing_id)
    if not isinstance(order, Listing):
        raise NotFound(f"you have no listing {listing_id}")
    return order


@router.get("/listings", response_model=list[ListingPublic])
def open_listings(market: MarketDep, _: CurrentParticipant, limit: int = 100) -> list[Listing]:
    """Open listings across the market."""
    return market.find(Listing, status="open", limit=min(limit, 500))
