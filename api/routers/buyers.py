"""Buyer endpoints: bid, see licences and invoices, download licensed data."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import CurrentParticipant, MarketDep
from api.idempotency import IdempotencyKey, run_idempotent
from api.schemas import BidCreate, BidPublic, BidResult, InvoicePublic, LicencePublic, TradePublic
from market.errors import NotFound
from market.models import Bid, Invoice, Licence

router = APIRouter(tags=["buyers"])

ANONYMIZED_NOTICE = (
    "Anonymously processed information (tokumei kako joho) under the APPI: re-identification, "
    "collation with other information and obtaining the processing method are prohibited"
)


@router.post("/bids", response_model=BidResult, status_code=201)
def place_bid(
    body: BidCreate,
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BidResult:
    """Bid for licences; trades at once against eligible asks, or rests in the book."""

    def produce() -> BidResult:
        outcome = market.place_bid(buyer=buyer, **body.model_dump())
        return BidResult(
            bid=BidPublic.model_validate(outcome.bid),
            trades=[TradePublic.model_validate(t) for t in outcome.trades],
        )

    return run_idempotent(
        market=market,
        participant=buyer,
        key=idempotency_key,
        request=request,
        response=response,
        body=body,
        model=BidResult,
        produce=produce,
    )


@router.delete("/bids/{bid_id}", response_model=BidPublic)
def cancel_bid(bid_id: str, market: MarketDep, buyer: CurrentParticipant) -> Bid:
    """Withdraw an open bid; licences already bought stay valid."""
    order = market.cancel_order(participant=buyer, order_id=bid_id)
    if not isinstance(order, Bid):
        raise NotFound(f"you have no bid {bid_id}")
    return order


@router.get("/bids", response_model=list[BidPublic])
def my_bids(market: MarketDep, buyer: CurrentParticipant) -> list[Bid]:
    return market.find(Bid, buyer_id=buyer.id)


@router.get("/licences", response_model=list[LicencePublic])
def my_licences(market: MarketDep, buyer: CurrentParticipant) -> list[Licence]:
    return market.find(Licence, buyer_id=buyer.id)


@router.get("/invoices", response_model=list[InvoicePublic])
def my_invoices(market: MarketDep, buyer: CurrentParticipant) -> list[Invoice]:
    return market.find(Invoice, buyer_id=buyer.id)


@router.get(
    "/datasets/{dataset_id}/download",
    responses={200: {"content": {"text/csv": {}}, "description": "The dataset as UTF-8 CSV"}},
)
def download(dataset_id: str, market: MarketDep, participant: CurrentParticipant) -> Response:
    """The licensed dataset as UTF-8 CSV, for licence holders and its seller only."""
    dataset, data = market.download(participant=participant, dataset_id=dataset_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{dataset.id}.csv"',
        "X-Data-Class": dataset.data_class,
    }
    if dataset.data_class == "anonymized":
        # APPI art. 44: the provider states explicitly that the data is 匿名加工情報.
        headers["Link"] = f'</announcements/{dataset.id}>; rel="describedby"'
        headers["X-Anonymized-Notice"] = ANONYMIZED_NOTICE
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)
