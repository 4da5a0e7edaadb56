"""Buyer endpoints: bid, see licences and invoices, download licensed data."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import CurrentParticipant, MarketDep
from api.idempotency import IdempotencyKey, run_idempotent
from api.paging import Cursor, Limit, paginated
from api.ratelimit import ORDER_ENTRY_LIMIT
from api.schemas import (
    BidAmend,
    BidCreate,
    BidPublic,
    BidResult,
    InvoicePublic,
    LicencePublic,
    TradePublic,
)
from market.csv_formulas import count_formula_cells
from market.csv_formulas import excel_safe as make_excel_safe
from market.models import Bid, Invoice, Licence, Trade
from market.service import BidOutcome

router = APIRouter(tags=["buyers"])

FORMULA_NOTE = (
    "{count} cells begin with =, +, -, @, tab or carriage return and are delivered as stored; "
    "a spreadsheet may run them as formulas: download with ?excel_safe=1 to prefix them with '"
)

ANONYMIZED_NOTICE = (
    "Anonymously processed information (tokumei kako joho) under the APPI: re-identification, "
    "collation with other information and obtaining the processing method are prohibited"
)


@router.post("/bids", response_model=BidResult, status_code=201, dependencies=[ORDER_ENTRY_LIMIT])
def place_bid(
    body: BidCreate,
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BidResult:
    """Bid for licences; trades at once against eligible asks, or rests in the book."""

    def render(_: Session, outcome: BidOutcome) -> BidResult:
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
        produce=lambda claim: market.place_bid(buyer=buyer, claim=claim, **body.model_dump()),
        render=render,
    )


@router.delete("/bids/{bid_id}", response_model=BidPublic, dependencies=[ORDER_ENTRY_LIMIT])
def cancel_bid(bid_id: str, market: MarketDep, buyer: CurrentParticipant) -> Bid:
    """Withdraw an open bid; licences already bought stay valid."""
    return market.cancel_bid(buyer=buyer, bid_id=bid_id)


@router.patch("/bids/{bid_id}", response_model=BidResult, dependencies=[ORDER_ENTRY_LIMIT])
def amend_bid(
    bid_id: str, body: BidAmend, market: MarketDep, buyer: CurrentParticipant
) -> BidResult:
    """Change an open bid's price or total quantity; it may trade at once.

    The bid keeps its place in the queue only when its price is unchanged and its size does not
    grow. Raising it first reserves the extra worst-case cost against your credit.
    """
    outcome = market.amend_bid(
        buyer=buyer, bid_id=bid_id, max_price_yen=body.max_price_yen, quantity=body.quantity
    )
    return BidResult(
        bid=BidPublic.model_validate(outcome.bid),
        trades=[TradePublic.model_validate(t) for t in outcome.trades],
    )


@router.get("/bids", response_model=list[BidPublic])
def my_bids(
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    status: Literal["open", "filled", "cancelled", "rejected", "expired"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Bid]:
    """Your bids, newest first; filter by `status`."""
    equals = {"status": status} if status else {}
    page = market.find_page(Bid, buyer_id=buyer.id, cursor=cursor, limit=limit, **equals)
    return paginated(request, response, page)


@router.get("/licences", response_model=list[LicencePublic])
def my_licences(
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Licence]:
    """Your licences, newest first."""
    page = market.find_page(Licence, buyer_id=buyer.id, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.get("/invoices", response_model=list[InvoicePublic])
def my_invoices(
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    status: Literal["issued", "paid"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Invoice]:
    """Your invoices, newest first; filter by `status`."""
    equals = {"status": status} if status else {}
    page = market.find_page(Invoice, buyer_id=buyer.id, cursor=cursor, limit=limit, **equals)
    return paginated(request, response, page)


@router.get("/purchases", response_model=list[TradePublic])
def my_purchases(
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    response: Response,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Trade]:
    """Your trades as a buyer, newest first."""
    page = market.trades(buyer_id=buyer.id, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.get(
    "/datasets/{dataset_id}/download",
    responses={200: {"content": {"text/csv": {}}, "description": "The dataset as UTF-8 CSV"}},
)
def download(
    dataset_id: str,
    market: MarketDep,
    participant: CurrentParticipant,
    excel_safe: Annotated[
        bool, Query(description="Prefix cells a spreadsheet would run as formulas with '")
    ] = False,
) -> Response:
    """The licensed dataset as UTF-8 CSV, for licence holders and its seller only."""
    dataset, data = market.download(participant=participant, dataset_id=dataset_id)
    headers = {
        "Content-Disposition": f'attachment; filename="{dataset.id}.csv"',
        "X-Data-Class": dataset.data_class,
    }
    # Values are delivered as stored unless asked otherwise (docs/security.md, CSV injection).
    formula_cells = count_formula_cells(data)
    if excel_safe:
        data = make_excel_safe(data)
    elif formula_cells:
        headers["X-Formula-Cells"] = FORMULA_NOTE.format(count=formula_cells)
    if dataset.data_class == "anonymized":
        # APPI art. 44: the provider states explicitly that the data is 匿名加工情報.
        headers["Link"] = f'</announcements/{dataset.id}>; rel="describedby"'
        headers["X-Anonymized-Notice"] = ANONYMIZED_NOTICE
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)
