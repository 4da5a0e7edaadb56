"""Operator endpoints: participants, credit, deposits, verification, trades, invoices, the ledger.

Every action that changes a participant's standing or money takes a reason and is kept in the
operator audit log (`GET /operator/audit`).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import MarketDep, OperatorUser
from api.paging import Cursor, Limit, paginated
from api.schemas import (
    ApiKeyPublic,
    CreditGrant,
    DepositCreate,
    InstrumentCreate,
    InstrumentFeesSet,
    InstrumentPublic,
    InvoicePayment,
    InvoicePublic,
    InvoiceRefundCreate,
    InvoiceRefundPublic,
    OperatorActionPublic,
    OperatorParticipantCreate,
    ParticipantPublic,
    PayoutCreate,
    Registration,
    Revocation,
    TradePublic,
    TradingModeSet,
    VerificationSet,
)
from market.models import ApiKey, Instrument, Invoice, OperatorAction, Participant, Trade
from market.settlement.tables import InvoiceRefund
from market.vocabulary import ParticipantKind, Verification

router = APIRouter(prefix="/operator", tags=["operators"])


@router.post("/participants", response_model=Registration, status_code=201)
def create_participant(
    body: OperatorParticipantCreate, market: MarketDep, _: OperatorUser
) -> Registration:
    """Register any participant, operators included, with a credit limit."""
    participant, api_key = market.accounts.register(**body.model_dump())
    return Registration(participant=ParticipantPublic.model_validate(participant), api_key=api_key)


@router.get("/participants", response_model=list[ParticipantPublic])
def participants(
    market: MarketDep,
    _: OperatorUser,
    request: Request,
    response: Response,
    kind: ParticipantKind | None = None,
    verification: Verification | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Participant]:
    """Participants, newest first; filter by `kind` and `verification`."""
    page = market.participants(kind=kind, verification=verification, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.put("/participants/{participant_id}/credit", response_model=ParticipantPublic)
def grant_credit(
    participant_id: str, body: CreditGrant, market: MarketDep, operator: OperatorUser
) -> Participant:
    """Set a participant's credit limit (bids reserve against it); audited with the reason."""
    return market.credit.grant_credit(
        operator=operator,
        participant_id=participant_id,
        credit_limit_yen=body.credit_limit_yen,
        reason=body.reason,
    )


@router.post("/participants/{participant_id}/deposits", response_model=dict[str, int])
def record_deposit(
    participant_id: str, body: DepositCreate, market: MarketDep, operator: OperatorUser
) -> dict[str, int]:
    """Record a prepaid deposit received by bank transfer; it pays invoices as they are issued."""
    balance = market.credit.record_deposit(
        operator=operator,
        participant_id=participant_id,
        amount_yen=body.amount_yen,
        reference=body.reference,
        reason=body.reason,
    )
    return {"deposit_yen": balance}


@router.put("/participants/{participant_id}/verification", response_model=ParticipantPublic)
def set_verification(
    participant_id: str, body: VerificationSet, market: MarketDep, operator: OperatorUser
) -> Participant:
    """Verify (or withdraw verification of) a participant's declared category, country and
    security profile; only verified declarations count for listings' recipient rules."""
    return market.accounts.set_verification(
        operator=operator, participant_id=participant_id, verified=body.verified, reason=body.reason
    )


@router.delete("/keys/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, body: Revocation, market: MarketDep, operator: OperatorUser) -> ApiKey:
    """Revoke any participant's API key (leaked or abused); audited with the reason."""
    return market.accounts.revoke_key(operator=operator, key_id=key_id, reason=body.reason)


@router.get("/audit", response_model=list[OperatorActionPublic])
def audit_log(
    market: MarketDep,
    _: OperatorUser,
    request: Request,
    response: Response,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[OperatorAction]:
    """The operator audit log, newest first: who did what to whom, when and why."""
    page = market.operator_actions(target_id=target_id, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.get("/trades", response_model=list[TradePublic])
def trades(
    market: MarketDep,
    _: OperatorUser,
    request: Request,
    response: Response,
    buyer_id: Annotated[str | None, Query(max_length=64)] = None,
    seller_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Trade]:
    """Trades, newest first; filter by `buyer_id` or `seller_id`."""
    page = market.trades(buyer_id=buyer_id, seller_id=seller_id, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.post("/instruments", response_model=InstrumentPublic, status_code=201)
def create_instrument(
    body: InstrumentCreate, market: MarketDep, operator: OperatorUser
) -> Instrument:
    """Open an order book ahead of its first listing, so buyers can rest bids in it."""
    return market.create_instrument(operator=operator, name=body.name)


@router.put("/instruments/{instrument:path}/mode", response_model=list[TradePublic])
def set_mode(
    instrument: str, body: TradingModeSet, market: MarketDep, _: OperatorUser
) -> list[Trade]:
    """Switch an instrument to continuous trading or periodic call auctions (板寄せ).

    Switching to continuous opens the book with an auction; its trades are returned.
    """
    return market.orders.set_trading_mode(
        instrument=instrument, mode=body.mode, interval_seconds=body.interval_seconds
    )


@router.post("/instruments/{instrument:path}/auction", response_model=list[TradePublic])
def run_auction(
    instrument: str,
    market: MarketDep,
    _: OperatorUser,
    reference_price: Annotated[int | None, Query(ge=1, le=10**12)] = None,
) -> list[Trade]:
    """Run a call auction on the instrument now; returns its trades."""
    return market.orders.run_auction(instrument=instrument, reference_price=reference_price)


@router.get("/invoices", response_model=list[InvoicePublic])
def invoices(
    market: MarketDep,
    _: OperatorUser,
    request: Request,
    response: Response,
    status: Literal["issued", "paid", "refunded"] = "issued",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Invoice]:
    """Invoices of every buyer, newest first; filter by `status` (default issued)."""
    page = market.find_page(Invoice, status=status, cursor=cursor, limit=limit)
    return paginated(request, response, page)


@router.post("/invoices/{invoice_id}/paid", response_model=InvoicePublic)
def mark_paid(
    invoice_id: str, body: InvoicePayment, market: MarketDep, operator: OperatorUser
) -> Invoice:
    """Record that the buyer's bank transfer for an invoice arrived (once; audited)."""
    return market.credit.mark_invoice_paid(
        operator=operator, invoice_id=invoice_id, reference=body.reference, reason=body.reason
    )


@router.get("/ledger/balances", response_model=dict[str, int])
def balances(market: MarketDep, _: OperatorUser) -> dict[str, int]:
    """Every ledger account's balance (debits minus credits); they sum to zero."""
    return market.credit.trial_balance()


@router.put("/instruments/{instrument:path}/fees", response_model=InstrumentPublic)
def set_fees(
    instrument: str, body: InstrumentFeesSet, market: MarketDep, operator: OperatorUser
) -> Instrument:
    """Set the market fee of an instrument's trades (rate and minimum); audited with the reason."""
    return market.settlement.set_instrument_fees(
        operator=operator,
        instrument=instrument,
        fee_bps=body.fee_bps,
        fee_minimum_yen=body.fee_minimum_yen,
        reason=body.reason,
    )


@router.post("/invoices/{invoice_id}/refund", response_model=InvoiceRefundPublic, status_code=201)
def refund(
    invoice_id: str, body: InvoiceRefundCreate, market: MarketDep, operator: OperatorUser
) -> InvoiceRefund:
    """Refund (part of) a paid invoice with reversing entries; audited with the reason.

    The refund issues a return invoice (`GET /refunds/{id}/document`).
    """
    return market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice_id, amount_yen=body.amount_yen, reason=body.reason
    )


@router.post("/participants/{participant_id}/payouts", response_model=dict[str, int])
def record_payout(
    participant_id: str, body: PayoutCreate, market: MarketDep, operator: OperatorUser
) -> dict[str, int]:
    """Record a bank transfer paid out to a seller; audited with the reason."""
    owed = market.settlement.record_payout(
        operator=operator,
        seller_id=participant_id,
        amount_yen=body.amount_yen,
        reference=body.reference,
        reason=body.reason,
    )
    return {"owed_yen": owed}
