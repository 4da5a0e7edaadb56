"""Buyer endpoints: bid, see licences and invoices, download licensed data."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlmodel import Session

from api.deps import CurrentParticipant, MarketDep, market_of
from api.idempotency import IdempotencyKey, run_idempotent
from api.paging import Cursor, Limit, paginated
from api.problems import PROBLEM_JSON
from api.ratelimit import OrderEntrant
from api.routers.banks import DeliveredRecord
from api.schemas import (
    BidAmend,
    BidCreate,
    BidPublic,
    BidResult,
    DownloadUrl,
    InvoicePublic,
    InvoiceRefundPublic,
    LicencePublic,
    TradePublic,
)
from market.delivery.desk import Delivery
from market.models import Bid, Invoice, Licence, Participant, Trade
from market.service import Market
from market.settlement.tables import InvoiceRefund
from market.trading.desk import BidOutcome

router = APIRouter(tags=["buyers"])

FORMULA_NOTE = (
    "{count} cells begin with =, +, -, @, tab or carriage return and are delivered as stored; "
    "a spreadsheet may run them as formulas: download with ?excel_safe=1 to prefix them with '"
)

ANONYMIZED_NOTICE = (
    "Anonymously processed information (tokumei kako joho) under the APPI: re-identification, "
    "collation with other information and obtaining the processing method are prohibited"
)


@router.post("/bids", response_model=BidResult, status_code=201)
async def place_bid(
    body: BidCreate,
    buyer: OrderEntrant,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BidResult:
    """Bid for licences; trades at once against eligible asks, or rests in the book."""
    market = market_of(request)
    if idempotency_key is None:
        # The order-entry hot path: the request awaits the engine's answer on the event loop.
        outcome = await market.orders.place_bid_async(buyer=buyer, order=body.command())
        if outcome.sellers_as_stored or not outcome.trades:
            trades = [TradePublic.model_validate(t) for t in outcome.trades]
        else:
            trades = await run_in_threadpool(_for_buyer, market, outcome.trades)
        return BidResult(bid=BidPublic.model_validate(outcome.stored), trades=trades)
    return await run_in_threadpool(
        _place_bid_once, market, buyer, body, request, response, idempotency_key
    )


def _place_bid_once(
    market: Market,
    buyer: Participant,
    body: BidCreate,
    request: Request,
    response: Response,
    idempotency_key: str,
) -> BidResult:
    """A bid with an Idempotency-Key: a retry is answered with the first response."""

    def render(_: Session, outcome: BidOutcome) -> BidResult:
        return BidResult(
            bid=BidPublic.model_validate(outcome.bid), trades=_for_buyer(market, outcome.trades)
        )

    return run_idempotent(
        market=market,
        participant=buyer,
        key=idempotency_key,
        request=request,
        response=response,
        body=body,
        model=BidResult,
        produce=lambda claim: market.orders.place_bid(
            buyer=buyer, order=body.command(), claim=claim
        ),
        render=render,
    )


@router.delete("/bids/{bid_id}", response_model=BidPublic)
async def cancel_bid(bid_id: str, buyer: OrderEntrant, request: Request) -> Bid:
    """Withdraw an open bid; licences already bought stay valid."""
    return await market_of(request).orders.cancel_bid_async(buyer=buyer, bid_id=bid_id)


@router.patch("/bids/{bid_id}", response_model=BidResult)
def amend_bid(bid_id: str, body: BidAmend, market: MarketDep, buyer: OrderEntrant) -> BidResult:
    """Change an open bid's price or total quantity; it may trade at once.

    The bid keeps its place in the queue only when its price is unchanged and its size does not
    grow. Raising it first reserves the extra worst-case cost against your credit.
    """
    outcome = market.orders.amend_bid(
        buyer=buyer, bid_id=bid_id, max_price_yen=body.max_price_yen, quantity=body.quantity
    )
    return BidResult(
        bid=BidPublic.model_validate(outcome.bid), trades=_for_buyer(market, outcome.trades)
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
    status: Literal["issued", "paid", "refunded"] | None = None,
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
) -> list[TradePublic]:
    """Your trades as a buyer, newest first (a person selling their own records is shown only by
    a pseudonymous reference)."""
    page = market.trades(buyer_id=buyer.id, cursor=cursor, limit=limit)
    return _for_buyer(market, paginated(request, response, page))


def _for_buyer(market: Market, trades: list[Trade]) -> list[TradePublic]:
    """Trades as their buyer sees them: an individual seller only as its `person_ref`."""
    shown = market.banks.shown_seller_ids(trades)
    return [
        TradePublic.model_validate(t).model_copy(update={"seller_id": shown[t.id]}) for t in trades
    ]


@router.get("/licences/{licence_id}/records", response_model=list[DeliveredRecord])
def licence_records(
    licence_id: str, market: MarketDep, buyer: CurrentParticipant
) -> list[dict[str, Any]]:
    """The personal records a licence of PDS records delivers: one row per record, each person
    named by a reference stable for you and different for every other recipient.

    Read at delivery from what the consenting people provided; nothing before the data-ethics
    board or the person decided (409), nothing after a rejection (403, with its reason).
    """
    request_id = market.banks.licence_request(buyer=buyer, licence_id=licence_id)
    return market.pds.delivered_rows(recipient=buyer, request_id=request_id)


ExcelSafe = Annotated[
    bool, Query(description="Prefix cells a spreadsheet would run as formulas with '")
]
RevisionNumber = Annotated[
    int | None,
    Query(
        ge=1,
        le=1_000_000_000,
        description="The dataset revision to download (GET /datasets/{id}/revisions); default: "
        "the newest one your licences cover (for the seller: the newest)",
    ),
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The dataset as UTF-8 CSV"}
}
PAYMENT_PENDING: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "The licence's card payment has not succeeded: its state and why it "
        "failed (data reaches a buyer without credit only after payment)",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}
LINK_EXPIRED: dict[int | str, dict[str, Any]] = {
    410: {
        "description": "The signed link has expired; ask for a new one",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.get("/datasets/{dataset_id}/download", responses=CSV_RESPONSE | PAYMENT_PENDING)
def download(
    dataset_id: str,
    market: MarketDep,
    participant: CurrentParticipant,
    excel_safe: ExcelSafe = False,
    revision: RevisionNumber = None,
) -> StreamingResponse:
    """One revision of the dataset as CSV: as stored for its seller, fingerprinted for a licence.

    `revision` defaults to the newest one the caller may have; a licence holder is refused (403)
    a revision none of its live licences covers, and 404 names a revision that does not exist.
    A licence holder's copy has the same rows and values; its row order and quoting carry the
    licence's fingerprint (docs/delivery.md). `X-Dataset-Revision` names the revision served.
    """
    delivery = market.delivery.deliver(
        participant=participant, dataset_id=dataset_id, revision=revision, excel_safe=excel_safe
    )
    return _csv_response(delivery)


@router.post(
    "/licences/{licence_id}/download-url", response_model=DownloadUrl, responses=PAYMENT_PENDING
)
def download_url(
    licence_id: str,
    market: MarketDep,
    buyer: CurrentParticipant,
    request: Request,
    revision: RevisionNumber = None,
) -> DownloadUrl:
    """A signed link to one revision your licence covers, valid a few minutes, for your key only.

    `revision` defaults to the newest revision the licence covers; the link serves that one."""
    signed = market.delivery.download_url(buyer=buyer, licence_id=licence_id, revision=revision)
    url = str(request.url_for("download_by_token", token=signed.token))
    return DownloadUrl(url=url, revision=signed.revision, expires_at=signed.expires_at)


@router.get("/downloads/{token}", responses=CSV_RESPONSE | LINK_EXPIRED | PAYMENT_PENDING)
def download_by_token(
    token: str, market: MarketDep, buyer: CurrentParticipant, excel_safe: ExcelSafe = False
) -> StreamingResponse:
    """The copy a signed link grants; refused for another buyer, an altered or expired link."""
    delivery = market.delivery.redeem(participant=buyer, token=token, excel_safe=excel_safe)
    return _csv_response(delivery)


def _csv_response(delivery: Delivery) -> StreamingResponse:
    dataset = delivery.dataset
    headers = {
        "Content-Disposition": f'attachment; filename="{dataset.id}-r{delivery.revision}.csv"',
        "X-Data-Class": dataset.data_class,
        "X-Dataset-Revision": str(delivery.revision),
    }
    # Values are delivered as stored unless asked otherwise (docs/security.md, CSV injection).
    if delivery.formula_cells:
        headers["X-Formula-Cells"] = FORMULA_NOTE.format(count=delivery.formula_cells)
    if dataset.data_class == "anonymized":
        # APPI art. 44: the provider states explicitly that the data is 匿名加工情報.
        headers["Link"] = f'</announcements/{dataset.id}>; rel="describedby"'
        headers["X-Anonymized-Notice"] = ANONYMIZED_NOTICE
    return StreamingResponse(delivery.chunks, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/invoices/{invoice_id}/document",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The invoice as HTML"}},
)
def invoice_document(invoice_id: str, market: MarketDep, viewer: CurrentParticipant) -> str:
    """The invoice as an HTML page to keep, in Japanese and English.

    Its buyer gets the original, its seller a copy (写し) with the market's fee.
    """
    return market.settlement.invoice_document(viewer=viewer, invoice_id=invoice_id)


@router.get("/invoices/{invoice_id}/refunds", response_model=list[InvoiceRefundPublic])
def invoice_refunds(
    invoice_id: str, market: MarketDep, viewer: CurrentParticipant
) -> list[InvoiceRefund]:
    """Refunds of one of your invoices, newest first."""
    return market.settlement.refunds_of(viewer=viewer, invoice_id=invoice_id)


@router.get(
    "/refunds/{refund_id}/document",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}, "description": "The return invoice as HTML"}},
)
def return_invoice_document(refund_id: str, market: MarketDep, viewer: CurrentParticipant) -> str:
    """The return invoice (適格返還請求書) of a refund, as a page to keep."""
    return market.settlement.return_invoice_document(viewer=viewer, refund_id=refund_id)
