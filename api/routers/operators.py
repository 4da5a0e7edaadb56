"""Operator endpoints: participants, trades, invoices, the ledger."""

from fastapi import APIRouter

from api.deps import MarketDep, OperatorUser
from api.schemas import (
    InvoicePublic,
    OperatorParticipantCreate,
    ParticipantPublic,
    Registration,
    TradePublic,
    TradingModeSet,
)
from market.models import Invoice, Trade

router = APIRouter(prefix="/operator", tags=["operators"])


@router.post("/participants", response_model=Registration, status_code=201)
def create_participant(
    body: OperatorParticipantCreate, market: MarketDep, _: OperatorUser
) -> Registration:
    """Register any participant, operators included, with a credit limit."""
    participant, api_key = market.register(**body.model_dump())
    return Registration(participant=ParticipantPublic.model_validate(participant), api_key=api_key)


@router.get("/trades", response_model=list[TradePublic])
def trades(market: MarketDep, _: OperatorUser, limit: int = 100) -> list[Trade]:
    """The most recent trades, newest first."""
    return market.trades(limit=min(limit, 1000))


@router.put("/instruments/{instrument:path}/mode", response_model=list[TradePublic])
def set_mode(
    instrument: str, body: TradingModeSet, market: MarketDep, _: OperatorUser
) -> list[Trade]:
    """Switch an instrument to continuous trading or periodic call auctions (板寄せ).

    Switching to continuous opens the book with an auction; its trades are returned.
    """
    return market.set_trading_mode(
        instrument=instrument, mode=body.mode, interval_seconds=body.interval_seconds
    )


@router.post("/instruments/{instrument:path}/auction", response_model=list[TradePublic])
def run_auction(
    instrument: str, market: MarketDep, _: OperatorUser, reference_price: int | None = None
) -> list[Trade]:
    """Run a call auction on the instrument now; returns its trades."""
    return market.run_auction(instrument=instrument, reference_price=reference_price)


@router.get("/invoices", response_model=list[InvoicePublic])
def invoices(market: MarketDep, _: OperatorUser, status: str = "issued") -> list[Invoice]:
    return market.find(Invoice, status=status, limit=1000)


@router.post("/invoices/{invoice_id}/paid", response_model=InvoicePublic)
def mark_paid(invoice_id: str, market: MarketDep, _: OperatorUser) -> Invoice:
    """Record that the buyer's bank transfer for an invoice arrived."""
    return market.mark_invoice_paid(invoice_id)


@router.get("/ledger/balances", response_model=dict[str, int])
def balances(market: MarketDep, _: OperatorUser) -> dict[str, int]:
    """Every ledger account's balance (debits minus credits); they sum to zero."""
    return market.trial_balance()
