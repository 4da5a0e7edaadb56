"""What a seller earned: its running balance and monthly statements (months in JST)."""

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from market.errors import InvalidRequest
from market.models import Invoice, LedgerEntry
from market.settlement.ledger import payable
from market.settlement.tables import InvoiceRefund, LedgerTransaction

JST = timezone(timedelta(hours=9), "JST")
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def _payable_moves(
    session: Session,
    seller_id: str,
    kind: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Debits of the seller's payable account in transactions of one kind."""
    query = (
        select(func.coalesce(func.sum(LedgerEntry.debit_yen), 0))
        .join(LedgerTransaction, col(LedgerTransaction.id) == col(LedgerEntry.transaction_id))
        .where(LedgerEntry.account == payable(seller_id), LedgerTransaction.kind == kind)
    )
    if since is not None and until is not None:
        query = query.where(
            col(LedgerTransaction.created_at) >= since, col(LedgerTransaction.created_at) < until
        )
    return int(session.exec(query).one())


def seller_balance(*, session: Session, seller_id: str) -> dict[str, int]:
    """A seller's business: sales, tax, market fees, refunds, what it earned, was paid and is owed."""
    sales, tax, fees, fee_tax = session.exec(
        select(
            func.coalesce(func.sum(Invoice.net_yen), 0),
            func.coalesce(func.sum(Invoice.tax_yen), 0),
            func.coalesce(func.sum(Invoice.fee_yen), 0),
            func.coalesce(func.sum(Invoice.fee_tax_yen), 0),
        ).where(Invoice.seller_id == seller_id)
    ).one()
    credited, debited = session.exec(
        select(
            func.coalesce(func.sum(LedgerEntry.credit_yen), 0),
            func.coalesce(func.sum(LedgerEntry.debit_yen), 0),
        ).where(LedgerEntry.account == payable(seller_id))
    ).one()
    refunded = _payable_moves(session, seller_id, "invoice.refunded")
    return {
        "gross_sales_yen": int(sales),
        "consumption_tax_yen": int(tax),
        "fees_yen": int(fees),
        "fee_tax_yen": int(fee_tax),
        "refunded_yen": refunded,
        "earned_yen": int(credited) - refunded,
        "paid_out_yen": int(debited) - refunded,
        "balance_yen": int(credited) - int(debited),
    }


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants a JST calendar month (YYYY-MM) starts and ends."""
    match = MONTH.match(month)
    if match is None:
        raise InvalidRequest("a statement month is YYYY-MM, e.g. 2026-04")
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=JST)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=JST)
    return start.astimezone(UTC), end.astimezone(UTC)


def seller_statement(*, session: Session, seller_id: str, month: str) -> dict[str, Any]:
    """The seller's monthly statement: each invoice, refunds, payouts and the totals."""
    since, until = month_bounds(month)
    invoices = session.exec(
        select(Invoice)
        .where(
            Invoice.seller_id == seller_id,
            col(Invoice.issued_at) >= since,
            col(Invoice.issued_at) < until,
        )
        .order_by(col(Invoice.issued_at), col(Invoice.id))
    ).all()
    refunds = session.exec(
        select(InvoiceRefund)
        .join(Invoice, col(Invoice.id) == col(InvoiceRefund.invoice_id))
        .where(
            Invoice.seller_id == seller_id,
            col(InvoiceRefund.created_at) >= since,
            col(InvoiceRefund.created_at) < until,
        )
        .order_by(col(InvoiceRefund.created_at))
    ).all()
    lines = [
        {
            "invoice_id": i.id,
            "issued_on": i.issued_at.astimezone(JST).date().isoformat(),
            "item": i.particulars.get("item", ""),
            "net_yen": i.net_yen,
            "tax_rate_percent": i.tax_rate_percent,
            "tax_yen": i.tax_yen,
            "amount_yen": i.amount_yen,
            "fee_yen": i.fee_yen,
            "fee_tax_yen": i.fee_tax_yen,
            "status": i.status,
            "qualified": i.qualified,
        }
        for i in invoices
    ]
    refund_lines = [
        {
            "refund_id": r.id,
            "invoice_id": r.invoice_id,
            "refunded_on": r.created_at.astimezone(JST).date().isoformat(),
            "amount_yen": r.amount_yen,
            "tax_yen": r.tax_yen,
            "fee_yen": r.fee_yen,
            "fee_tax_yen": r.fee_tax_yen,
        }
        for r in refunds
    ]
    sales = sum(i.net_yen for i in invoices)
    tax = sum(i.tax_yen for i in invoices)
    fees = sum(i.fee_yen for i in invoices)
    fee_tax = sum(i.fee_tax_yen for i in invoices)
    refunded = sum(r.amount_yen - r.fee_yen - r.fee_tax_yen for r in refunds)
    payouts = _payable_moves(session, seller_id, "payout", since, until)
    return {
        "month": month,
        "sales_yen": sales,
        "consumption_tax_yen": tax,
        "fees_yen": fees,
        "fee_tax_yen": fee_tax,
        "refunded_yen": refunded,
        "earned_yen": sales + tax - fees - fee_tax - refunded,
        "payouts_yen": payouts,
        "invoices": lines,
        "refunds": refund_lines,
    }
