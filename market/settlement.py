"""Settlement on the embedded default: invoices (請求書払い) and a double-entry ledger in integer yen.

Accounts are strings: `receivable:buyer:<id>`, `payable:seller:<id>`, `revenue:market_fee`,
`cash:bank`. Every transaction's debits equal its credits; `trial_balance` proves it for the book.
"""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from market.errors import Conflict, CreditLimitExceeded, NotFound
from market.events import record_event
from market.models import Invoice, LedgerEntry, Participant, Trade, new_id, utcnow

FEE_ACCOUNT = "revenue:market_fee"
CASH_ACCOUNT = "cash:bank"


@dataclass(frozen=True)
class Posting:
    """One line of a ledger transaction."""

    account: str
    debit_yen: int = 0
    credit_yen: int = 0


def market_fee(gross_yen: int, fee_bps: int) -> int:
    """The market's fee on a gross amount, rounded down to whole yen."""
    return gross_yen * fee_bps // 10_000


def trade_postings(*, gross_yen: int, fee_bps: int, buyer_id: str, seller_id: str) -> list[Posting]:
    """The balanced postings of one trade settled by invoice."""
    fee = market_fee(gross_yen, fee_bps)
    return [
        Posting(f"receivable:buyer:{buyer_id}", debit_yen=gross_yen),
        Posting(f"payable:seller:{seller_id}", credit_yen=gross_yen - fee),
        Posting(FEE_ACCOUNT, credit_yen=fee),
    ]


def post(session: Session, postings: list[Posting], memo: str) -> str:
    """Write one balanced transaction; refuse an unbalanced one."""
    if sum(p.debit_yen for p in postings) != sum(p.credit_yen for p in postings):
        raise ValueError("unbalanced ledger transaction")
    transaction_id = new_id()
    for p in postings:
        session.add(
            LedgerEntry(
                transaction_id=transaction_id,
                account=p.account,
                debit_yen=p.debit_yen,
                credit_yen=p.credit_yen,
                memo=memo,
            )
        )
    return transaction_id


def settle_trade_by_invoice(*, session: Session, trade: Trade, fee_bps: int) -> Invoice:
    """Issue the buyer's invoice for a trade and book it in the ledger."""
    gross = trade.price_yen * trade.quantity
    post(
        session,
        trade_postings(
            gross_yen=gross, fee_bps=fee_bps, buyer_id=trade.buyer_id, seller_id=trade.seller_id
        ),
        memo=f"trade {trade.id}",
    )
    invoice = Invoice(buyer_id=trade.buyer_id, trade_id=trade.id, amount_yen=gross)
    session.add(invoice)
    record_event(
        session,
        "InvoiceIssued",
        {"invoice_id": invoice.id, "trade_id": trade.id, "amount_yen": gross},
    )
    return invoice


def mark_invoice_paid(*, session: Session, invoice_id: str) -> Invoice:
    """Record the buyer's payment of an invoice (an operator confirms the bank transfer)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    if invoice.status == "paid":
        raise Conflict(f"invoice {invoice_id} is already paid")
    post(
        session,
        [
            Posting(CASH_ACCOUNT, debit_yen=invoice.amount_yen),
            Posting(f"receivable:buyer:{invoice.buyer_id}", credit_yen=invoice.amount_yen),
        ],
        memo=f"payment of invoice {invoice.id}",
    )
    invoice.status = "paid"
    invoice.paid_at = utcnow()
    session.add(invoice)
    record_event(
        session, "InvoicePaid", {"invoice_id": invoice.id, "amount_yen": invoice.amount_yen}
    )
    return invoice


def outstanding_yen(*, session: Session, buyer_id: str) -> int:
    """What the buyer owes on unpaid invoices."""
    total = session.exec(
        select(func.coalesce(func.sum(Invoice.amount_yen), 0)).where(
            Invoice.buyer_id == buyer_id, Invoice.status == "issued"
        )
    ).one()
    return int(total)


def require_credit(*, session: Session, buyer: Participant, exposure_yen: int) -> None:
    """Refuse a bid whose worst-case cost would take the buyer over its credit limit."""
    owed = outstanding_yen(session=session, buyer_id=buyer.id)
    if owed + exposure_yen > buyer.credit_limit_yen:
        raise CreditLimitExceeded(
            f"this bid could cost up to {exposure_yen:,} yen; with {owed:,} yen unpaid the total "
            f"would exceed your credit limit of {buyer.credit_limit_yen:,} yen. Pay open invoices "
            "or lower the price or quantity"
        )


def trial_balance(*, session: Session) -> dict[str, int]:
    """Balance (debits minus credits) of every account."""
    rows = session.exec(
        select(
            LedgerEntry.account,
            func.sum(LedgerEntry.debit_yen) - func.sum(LedgerEntry.credit_yen),
        ).group_by(LedgerEntry.account)
    ).all()
    return {account: int(balance) for account, balance in rows}
