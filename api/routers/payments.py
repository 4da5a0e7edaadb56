"""Card payments: a buyer's card, a buyer's payments, sellers' Connect accounts, disputes.

The market takes cards only when Stripe is configured (docs/settlement.md); without it these
routes still answer: a card or account id is kept for when it is, and the lists are empty.
"""

import logging
import threading
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentParticipant, MarketDep, OperatorUser
from api.schemas import Reason
from market.service import Market
from market.settlement.tables import Dispute, Payment

router = APIRouter(tags=["payments"])
log = logging.getLogger("datamarket.api")
PAYMENT_RUN_SECONDS = 1.0

PROVIDER_ID = r"^[A-Za-z0-9_]{3,64}$"


class CardSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method_id: str = Field(
        pattern=PROVIDER_ID,
        description="A Stripe PaymentMethod id (pm_...) made by Stripe.js; never card numbers",
    )


class CardPublic(BaseModel):
    payment_method_id: str
    card_payments: bool = Field(
        description="Whether this market takes cards now; if not, trades are settled by invoice"
    )


class ConnectedAccountSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(
        pattern=PROVIDER_ID, description="The seller's Connect account (acct_...)"
    )
    reason: Reason


class ConnectedAccountPublic(BaseModel):
    participant_id: str
    connected_account_id: str


class PaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    bid_id: str
    trade_id: str | None
    invoice_id: str | None
    status: str = Field(
        description="requested, created, failed, authorized, capture_due, cancel_due, "
        "succeeded, cancelled or expired (docs/settlement.md)"
    )
    capture_method: str
    amount_yen: int = Field(description="Held (a bid's worst case) or charged")
    capture_yen: int = Field(description="What the trade costs (its invoice)")
    refunded_yen: int
    failure_reason: str | None = Field(description="Why the card payment failed, if it did")
    deadline_at: datetime | None = Field(description="When an unpaid trade fails")
    created_at: datetime


class DisputePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    provider_dispute_id: str
    payment_id: str | None
    amount_yen: int
    reason: str
    status: str
    created_at: datetime


@router.put("/me/card", response_model=CardPublic)
def set_card(body: CardSet, market: MarketDep, buyer: CurrentParticipant) -> CardPublic:
    """Keep the card the buyer's bids are held on when its credit does not cover them."""
    account = market.settlement.register_card(buyer=buyer, payment_method_id=body.payment_method_id)
    return CardPublic(
        payment_method_id=account.payment_method_id or body.payment_method_id,
        card_payments=market.settlement.takes_cards,
    )


@router.get("/payments", response_model=list[PaymentPublic])
def payments(market: MarketDep, buyer: CurrentParticipant) -> list[Payment]:
    """The buyer's card payments, newest first (at most 100), with why any failed."""
    return market.settlement.payments_of(buyer=buyer)


@router.put(
    "/operator/participants/{participant_id}/connected-account",
    response_model=ConnectedAccountPublic,
    tags=["operators"],
)
def set_connected_account(
    participant_id: str, body: ConnectedAccountSet, market: MarketDep, operator: OperatorUser
) -> ConnectedAccountPublic:
    """Pay a seller's card sales to its Connect account by destination charges (audited)."""
    account = market.settlement.set_connected_account(
        operator=operator, seller_id=participant_id, account_id=body.account_id, reason=body.reason
    )
    return ConnectedAccountPublic(
        participant_id=participant_id, connected_account_id=account.connected_account_id or ""
    )


@router.get("/operator/disputes", response_model=list[DisputePublic], tags=["operators"])
def disputes(market: MarketDep, _: OperatorUser) -> list[Dispute]:
    """Disputes (chargebacks) opened at the payment provider, newest first (at most 100)."""
    return market.settlement.disputes()


def run_payments(market: Market, stop: threading.Event) -> None:
    """Each second: make the provider calls booked payments need, fail trades past their
    payment deadline (only when the market takes cards)."""
    while not stop.wait(PAYMENT_RUN_SECONDS):
        try:
            market.settlement.run_payments()
        except Exception as exc:
            log.error("the payment run failed (%s); retrying", type(exc).__name__)


def start_payment_runner(market: Market, stop: threading.Event) -> threading.Thread | None:
    if not market.settlement.takes_cards:
        return None
    runner = threading.Thread(
        target=run_payments, args=(market, stop), name="payments", daemon=True
    )
    runner.start()
    return runner
