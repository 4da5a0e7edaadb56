"""Settlement on the embedded default: invoices (請求書払い) and a double-entry ledger in integer yen.

Accounts are strings: `receivable:buyer:<id>`, `payable:seller:<id>`, `revenue:market_fee`,
`cash:bank`. Every transaction's debits equal its credits; `trial_balance` proves it for the book.
"""

from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from market.audit import record_operator_action
from market.errors import Conflict, NotFound
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


def claim_invoice_payment(*, session: Session, invoice_id: str) -> bool:
    """Move an invoice from issued to paid; False when it was not issued (a conditional update).

    The condition is checked by the database, so of two concurrent payments only one succeeds and
    the ledger is booked once.
    """
    result = session.execute(
        update(Invoice)
        .where(col(Invoice.id) == invoice_id, col(Invoice.status) == "issued")
        .values(status="paid", paid_at=utcnow())
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_invoice_paid(
    *, session: Session, operator: Participant, invoice_id: str, reference: str, reason: str
) -> Invoice:
    """Record the buyer's payment of an invoice (an operator confirms the bank transfer)."""
    if not claim_invoice_payment(session=session, invoice_id=invoice_id):
        existing = session.get(Invoice, invoice_id)
        if existing is None:
            raise NotFound(f"invoice {invoice_id} does not exist")
        raise Conflict(f"invoice {invoice_id} is already {existing.status}")
    invoice = session.get(Invoice, invoice_id, populate_existing=True)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    post(
        session,
        [
            Posting(CASH_ACCOUNT, debit_yen=invoice.amount_yen),
            Posting(f"receivable:buyer:{invoice.buyer_id}", credit_yen=invoice.amount_yen),
        ],
        memo=f"payment of invoice {invoice.id}",
    )
    record_operator_action(
        session=session,
        operator=operator,
        action="invoice.marked_paid",
        target_id=invoice.id,
        reason=reason,
        details={"amount_yen": invoice.amount_yen, "reference": reference},
    )
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


def seller_balance(*, session: Session, seller_id: str) -> dict[str, int]:
    """A seller's business: gross sales, market fees, what it earned, was paid out and is owed."""
    gross = session.exec(
        select(func.coalesce(func.sum(Trade.price_yen * Trade.quantity), 0)).where(
            Trade.seller_id == seller_id
        )
    ).one()
    credited, debited = session.exec(
        select(
            func.coalesce(func.sum(LedgerEntry.credit_yen), 0),
            func.coalesce(func.sum(LedgerEntry.debit_yen), 0),
        ).where(LedgerEntry.account == f"payable:seller:{seller_id}")
    ).one()
    return {
        "gross_sales_yen": int(gross),
        "fees_yen": int(gross) - int(credited),
        "earned_yen": int(credited),
        "paid_out_yen": int(debited),
        "balance_yen": int(credited) - int(debited),
    }


def trial_balance(*, session: Session) -> dict[str, int]:
    """Balance (debits minus credits) of every account."""
    rows = session.exec(
        select(
            LedgerEntry.account,
            func.sum(LedgerEntry.debit_yen) - func.sum(LedgerEntry.credit_yen),
        ).group_by(LedgerEntry.account)
    ).all()
    return {account: int(balance) for account, balance in rows}
