"""Ratings of paid deliveries, sellers' credibility, and dataset revisions."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, UploadFile
from pydantic import Field

from api.deps import CurrentParticipant, MarketDep
from api.problems import PROBLEM_JSON
from api.ratelimit import UPLOAD_LIMIT
from api.schemas import Public, Request, Text, WholeNumber
from market.catalog.metadata import TEXT_BLOCK
from market.errors import UploadRejected
from market.models import Listing
from market.ratings.desk import RatingsDesk
from market.ratings.tables import Rating
from market.revisions.desk import RevisionsDesk

router = APIRouter()
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The resource is not in a state that allows this",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


def ratings_desk(market: MarketDep) -> RatingsDesk:
    return market.ratings


def revisions_desk(market: MarketDep) -> RevisionsDesk:
    return market.revisions


Ratings = Annotated[RatingsDesk, Depends(ratings_desk)]
Revisions = Annotated[RevisionsDesk, Depends(revisions_desk)]


class RatingCreate(Request):
    stars: WholeNumber = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comment: Text | None = Field(default=None, max_length=2000)


class RatingPublic(Public):
    id: str
    licence_id: str
    dataset_id: str
    stars: int
    comment: str | None
    paid_yen: int
    created_at: datetime


class CredibilityPublic(Public):
    seller_id: str
    status: str = Field(description="measured, or not_measured while nobody has rated")
    score: float | None = Field(description="0-100 (docs/quality.md, credibility)")
    basis: str
    ratings: int
    stars: dict[str, int] = Field(description="How many ratings gave each number of stars")


class CoverageUpdate(Request):
    covers: Literal["revision", "history", "updates"] = Field(
        description="revision: the one bought; history: it and every earlier one; updates: it "
        "and every revision published during the licence's term"
    )


class CoveragePublic(Public):
    id: str
    covers: str


class RevisionPublic(Public):
    dataset_id: str
    number: int
    note: str
    columns: list[str]
    row_count: int
    size_bytes: int
    sha256: str
    quality_score: int
    linkable: bool = Field(description="Holds data a buyer could link to a person (個人関連情報)")
    linkable_columns: list[str]
    created_at: datetime
    downloadable: bool = Field(
        description="You may download this revision: you sell the dataset or a live licence of "
        "yours covers it (GET /datasets/{id}/download?revision=N)"
    )
    your_licences: list[str] = Field(description="Your live licences that cover this revision")


@router.post(
    "/licences/{licence_id}/rating",
    response_model=RatingPublic,
    status_code=201,
    responses=CONFLICT,
    tags=["buyers"],
)
def rate_licence(
    licence_id: Annotated[str, Path(max_length=64)],
    body: RatingCreate,
    ratings: Ratings,
    buyer: CurrentParticipant,
) -> Rating:
    """Rate a paid licence's delivery, once; the seller's credibility and scores follow."""
    return ratings.rate(buyer=buyer, licence_id=licence_id, stars=body.stars, comment=body.comment)


@router.get("/sellers/{seller_id}/credibility", response_model=CredibilityPublic, tags=["buyers"])
def seller_credibility(
    seller_id: Annotated[str, Path(max_length=64)],
    ratings: Ratings,
    _: CurrentParticipant,
) -> dict[str, Any]:
    """A seller's credibility: ratings by paying buyers, weighted by what each paid."""
    return ratings.credibility(seller_id=seller_id)


@router.post(
    "/datasets/{dataset_id}/revisions",
    response_model=RevisionPublic,
    status_code=201,
    dependencies=[UPLOAD_LIMIT],
    responses=CONFLICT,
    tags=["sellers"],
)
def publish_revision(
    dataset_id: Annotated[str, Path(max_length=64)],
    market: MarketDep,
    revisions: Revisions,
    seller: CurrentParticipant,
    file: UploadFile,
    note: Annotated[str, Form(max_length=1000, pattern=TEXT_BLOCK)] = "",
) -> dict[str, Any]:
    """Upload a new version of one of your datasets; licence holders entitled to it are told."""
    limit = market.settings.max_upload_bytes
    raw = file.file.read(limit + 1)
    if len(raw) > limit:
        raise UploadRejected(
            f"the file is over the {limit:,}-byte limit; split it and upload the parts"
        )
    return revisions.publish(seller=seller, dataset_id=dataset_id, raw=raw, note=note)


@router.get(
    "/datasets/{dataset_id}/revisions", response_model=list[RevisionPublic], tags=["sellers"]
)
def dataset_revisions(
    dataset_id: Annotated[str, Path(max_length=64)],
    revisions: Revisions,
    viewer: CurrentParticipant,
) -> list[dict[str, Any]]:
    """A dataset's revisions, oldest first, each saying whether you may download it.

    For whoever may see the dataset; each lists which of your live licences cover it."""
    return revisions.revisions(viewer=viewer, dataset_id=dataset_id)


@router.put(
    "/listings/{listing_id}/coverage",
    response_model=CoveragePublic,
    responses=CONFLICT,
    tags=["sellers"],
)
def set_coverage(
    listing_id: Annotated[str, Path(max_length=64)],
    body: CoverageUpdate,
    revisions: Revisions,
    seller: CurrentParticipant,
) -> Listing:
    """State which dataset revisions the listing's licences cover, before it sells any."""
    return revisions.set_coverage(seller=seller, listing_id=listing_id, covers=body.covers)
