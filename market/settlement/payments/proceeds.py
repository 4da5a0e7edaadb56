"""What follows a card charge with the market's own money at the provider: the provider's
processing fee (from the charge's balance transaction), and a bank's pooled sale, charged on the
platform, paying the bank its share by a Transfer (Stripe's separate charges and transfers).

Nothing here calls the provider: the driver (`driver.py`) makes the calls and books their
answers with these, each once, by a conditional update.
"""

from sqlalchemy import update
from sqlmodel import Session, col, select

from market.banks.orders import POOL
from market.banks.tables import PersonalListing
from market.models import Invoice, Trade
from market.settlement.ledger import (
    PAYMENT_CLEARING_ACCOUNT,
    PROVIDER_FEES_ACCOUNT,
    Posting,
    payable,
    post,
)
from market.settlement.payments.booking import charge_trade
from market.settlement.reconcile import PROVIDER_FEE
from market.settlement.tables import Payment


def transfer_group(trade_id: str) -> str:
    """The Stripe transfer group tying a pooled sale's charge to its transfers."""
    return f"trade_{trade_id}"


def charge_pooled_trades(*, session: Session) -> list[Payment]:
    """Bind each invoiced trade of a bank's pool bought on a card bid to a payment.

    A pooled trade is invoiced only when its records are provided (market/banks/trades.py),
    after the trading transaction, so the payment run picks its invoice up here.
    """
    rows = session.exec(
        select(Trade, Invoice)
        .join(Invoice, col(Invoice.trade_id) == col(Trade.id))
        .join(PersonalListing, col(PersonalListing.listing_id) == col(Trade.listing_id))
        .where(
            PersonalListing.channel == POOL,
            Invoice.status == "issued",
            col(Trade.bid_id).in_(select(Payment.bid_id)),
            col(Trade.id).not_in(
                select(Payment.trade_id).where(col(Payment.trade_id).is_not(None))
            ),
        )
    ).all()
    bound = []
    for trade, invoice in rows:
        payment = charge_trade(session=session, trade=trade, invoice=invoice)
        if payment is not None:
            bound.append(payment)
    return bound


def book_transfer(*, session: Session, payment_id: str, transfer_id: str) -> bool:
    """Book the transfer of a pooled sale's share to the bank once (a conditional update):
    Dr the bank's payable / Cr `clearing:payments`."""
    result = session.execute(
        update(Payment)
        .where(col(Payment.id) == payment_id, col(Payment.transfer_id).is_(None))
        .values(transfer_id=transfer_id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    payment = session.get(Payment, payment_id)
    invoice = session.get(Invoice, payment.invoice_id) if payment and payment.invoice_id else None
    if invoice is None:
        return True
    share = transfer_share(invoice)
    post(
        session,
        [
            Posting(payable(invoice.seller_id or ""), debit_yen=share),
            Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=share),
        ],
        memo=f"transfer {transfer_id} of payment {payment_id} to the bank",
        kind="payment.transferred",
        reference_id=payment_id,
    )
    return True


def transfer_share(invoice: Invoice) -> int:
    """The seller's share of an invoice: its total less the market's fee and the fee's tax."""
    return invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen


def book_provider_fee(*, session: Session, payment_id: str, fee_yen: int) -> bool:
    """Book the provider's processing fee of a succeeded charge once (a conditional update):
    Dr `expense:provider_fees` / Cr `clearing:payments`, the provider keeping it from the
    money it pays out. A fee of 0 (localstripe's) is recorded with no transaction."""
    result = session.execute(
        update(Payment)
        .where(
            col(Payment.id) == payment_id,
            col(Payment.status) == "succeeded",
            col(Payment.provider_fee_yen).is_(None),
        )
        .values(provider_fee_yen=fee_yen)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if fee_yen > 0:
        post(
            session,
            provider_fee_postings(fee_yen),
            memo=f"the payment provider's fee of payment {payment_id}",
            kind=PROVIDER_FEE,
            reference_id=payment_id,
        )
    return True


def provider_fee_postings(fee_yen: int) -> list[Posting]:
    return [
        Posting(PROVIDER_FEES_ACCOUNT, debit_yen=fee_yen),
        Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=fee_yen),
    ]
