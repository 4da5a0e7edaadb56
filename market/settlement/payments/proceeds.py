"""What follows a card charge with the market's own money at the provider: the provider's
processing fee (from the charge's balance transaction), and a bank's pooled sale, charged on the
platform, paying the bank its share by a Transfer (Stripe's separate charges and transfers),
and a refund of such a sale (the market's own, or one made at the provider) taking the bank's
part of it back by a reversal of that Transfer.

Nothing here calls the provider: the driver (`driver.py`, `transfers.py`) makes the calls and
books their answers with these, each once, by a conditional update.
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
from market.settlement.refunds import refunded_at_provider
from market.settlement.tables import InvoiceRefund, Payment, PaymentAttempt

TRANSFER_OPERATION = "transfer"
# The operation of a transfer reversal's provider call: `transfer_reversal:<subject>`, the
# subject being the market's refund, or the ledger transaction of a refund made at the provider.
REVERSAL_OPERATION = "transfer_reversal:"
TRANSFER_REVERSED = "payment.transfer_reversed"


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


def book_transfer(*, session: Session, payment_id: str, transfer_id: str, amount_yen: int) -> bool:
    """Book the transfer of a pooled sale's share to the bank once (a conditional update):
    Dr the bank's payable / Cr `clearing:payments`, for the amount transferred."""
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
    post(
        session,
        [
            Posting(payable(invoice.seller_id or ""), debit_yen=amount_yen),
            Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=amount_yen),
        ],
        memo=f"transfer {transfer_id} of payment {payment_id} to the bank",
        kind="payment.transferred",
        reference_id=payment_id,
    )
    return True


def transfer_share(invoice: Invoice) -> int:
    """The seller's share of an invoice: its total less the market's fee and the fee's tax."""
    return invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen


def bank_part(refund: InvoiceRefund) -> int:
    """The bank's part of a refund: what the refund takes back from its payable (the refund
    less the market's fee and the fee's tax parts, which are rounded down)."""
    return refund.amount_yen - refund.fee_yen - refund.fee_tax_yen


def _refunds_of(session: Session, invoice_id: str) -> list[InvoiceRefund]:
    return list(
        session.exec(select(InvoiceRefund).where(InvoiceRefund.invoice_id == invoice_id)).all()
    )


def reversal_subjects(session: Session, payment_id: str) -> set[str]:
    """The refunds (the market's ids, or the ledger transactions of refunds made at the
    provider) whose bank's part a reversal of the payment's transfer takes back."""
    operations = session.exec(
        select(PaymentAttempt.operation).where(
            PaymentAttempt.payment_id == payment_id,
            col(PaymentAttempt.operation).startswith(REVERSAL_OPERATION),
        )
    ).all()
    return {operation.removeprefix(REVERSAL_OPERATION) for operation in operations}


def reversal_amount(*, session: Session, payment: Payment, subject_id: str) -> int | None:
    """The yen a reversal takes back for its refund: the bank's part of it; None when the
    subject names no refund of the payment."""
    refund = session.get(InvoiceRefund, subject_id)
    if refund is not None:
        return bank_part(refund)
    for made in refunded_at_provider(session, payment_ids=[payment.id]):
        if made.transaction_id == subject_id:
            return made.seller_yen
    return None


def transfer_amount(*, session: Session, payment: Payment, invoice: Invoice) -> int:
    """What the transfer of a pooled sale pays the bank: its share less the bank's part of
    each refund (the market's or one made at the provider) booked before the transfer was
    sent (those after it reverse the transfer).

    The same on every resend of one transfer attempt: a refund booked once the attempt exists
    gets a reversal, so it leaves this amount alone.
    """
    reversed_ids = reversal_subjects(session, payment.id)
    before = sum(bank_part(r) for r in _refunds_of(session, invoice.id) if r.id not in reversed_ids)
    before += sum(
        made.seller_yen
        for made in refunded_at_provider(session, payment_ids=[payment.id])
        if made.transaction_id not in reversed_ids
    )
    return max(transfer_share(invoice) - before, 0)


def book_reversal(*, session: Session, payment: Payment, subject_id: str, amount_yen: int) -> int:
    """In a refund's transaction: when the pooled sale's transfer was sent (or made), book the
    reversal of the bank's part of the refund, Dr `clearing:payments` / Cr the bank's payable,
    mirroring the transfer's booking; returns the yen to reverse (0: nothing to reverse, the
    transfer not being sent yet pays only what is left).

    `subject_id` names the refund (the market's, or the ledger transaction of one made at the
    provider); the caller queues the call with it (`transfers.queue_reversal`). The payment row is
    locked first, so a transfer being sent at the same moment is either seen here or sent for
    the reduced amount.
    """
    if payment.transfer_to is None:
        return 0
    fresh = session.exec(select(Payment).where(Payment.id == payment.id).with_for_update()).one()
    sent = session.exec(
        select(PaymentAttempt.id).where(
            PaymentAttempt.payment_id == fresh.id,
            PaymentAttempt.operation == TRANSFER_OPERATION,
            col(PaymentAttempt.status).in_(("sent", "succeeded")),
        )
    ).first()
    if (sent is None and fresh.transfer_id is None) or amount_yen <= 0:
        return 0
    invoice = session.get(Invoice, fresh.invoice_id or "")
    bank_id = (invoice.seller_id or "") if invoice is not None else ""
    post(
        session,
        [
            Posting(PAYMENT_CLEARING_ACCOUNT, debit_yen=amount_yen),
            Posting(payable(bank_id), credit_yen=amount_yen),
        ],
        memo=f"transfer to the bank reversed for refund {subject_id}",
        kind=TRANSFER_REVERSED,
        reference_id=subject_id,
    )
    return amount_yen


def book_refund_reversal(*, session: Session, payment: Payment, refund: InvoiceRefund) -> int:
    """`book_reversal` for the market's own refund of a pooled sale."""
    return book_reversal(
        session=session, payment=payment, subject_id=refund.id, amount_yen=bank_part(refund)
    )


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
