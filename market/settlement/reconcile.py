"""Reconciliation on the embedded default: the ledger against the invoices and refunds.

Every invoice has exactly one issuing transaction with its amounts; a paid (or refunded)
invoice has exactly one payment and an issued one none; every refund has exactly one
reversing transaction with its amounts; no invoice transaction names an invoice or refund that
does not exist; a card payment's processing fee has exactly one transaction with its amount.
Each difference is a `Mismatch` of one of four kinds.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from market.models import Invoice, LedgerEntry
from market.settlement.invoices import invoice_postings, payment_postings
from market.settlement.ledger import (
    CASH_ACCOUNT,
    PAYMENT_CLEARING_ACCOUNT,
    PROVIDER_FEES_ACCOUNT,
    Posting,
)
from market.settlement.refunds import refund_postings
from market.settlement.tables import InvoiceRefund, LedgerTransaction, Payment

ISSUED = "invoice.issued"
PAYMENTS = ("invoice.paid", "invoice.paid_from_deposit")
REFUNDED = "invoice.refunded"
# A card payment's processing fee (payments/booking.py), named by its payment.
PROVIDER_FEE = "payment.provider_fee"
KINDS = (ISSUED, *PAYMENTS, REFUNDED)
PAID_STATES = ("paid", "refunded")


@dataclass(frozen=True)
class Mismatch:
    """One way the ledger and the invoices disagree."""

    kind: str  # missing_posting, extra_posting, amount_mismatch, state_mismatch
    reference: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reference}: {self.detail}"


def net_by_account(lines: Iterable[Posting]) -> dict[str, int]:
    """Debits minus credits per account, leaving out accounts that net to zero."""
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.account] += line.debit_yen - line.credit_yen
    return {account: yen for account, yen in totals.items() if yen}


def booked_by_reference(
    session: Session, kinds: Sequence[str] = KINDS
) -> dict[str, list[tuple[LedgerTransaction, dict[str, int]]]]:
    """Transactions of `kinds` (default: the invoice-related ones) by the record they name,
    with their net lines."""
    headers = session.exec(
        select(LedgerTransaction).where(col(LedgerTransaction.kind).in_(kinds))
    ).all()
    lines: dict[str, list[Posting]] = defaultdict(list)
    ids = [h.id for h in headers]
    for start in range(0, len(ids), 500):
        for entry in session.exec(
            select(LedgerEntry).where(col(LedgerEntry.transaction_id).in_(ids[start : start + 500]))
        ):
            lines[entry.transaction_id].append(
                Posting(entry.account, entry.debit_yen, entry.credit_yen)
            )
    found: dict[str, list[tuple[LedgerTransaction, dict[str, int]]]] = defaultdict(list)
    for header in headers:
        found[header.reference_id or ""].append((header, net_by_account(lines[header.id])))
    return found


def _one(
    reference: str,
    what: str,
    transactions: list[tuple[LedgerTransaction, dict[str, int]]],
    expected: list[Posting],
) -> list[Mismatch]:
    if not transactions:
        return [Mismatch("missing_posting", reference, f"no {what} transaction in the ledger")]
    problems = []
    if len(transactions) > 1:
        ids = ", ".join(t.id for t, _ in transactions)
        problems.append(
            Mismatch("extra_posting", reference, f"{len(transactions)} {what} transactions: {ids}")
        )
    want = net_by_account(expected)
    for header, got in transactions:
        if got != want:
            problems.append(
                Mismatch(
                    "amount_mismatch",
                    reference,
                    f"{what} transaction {header.id} books {got}, the record says {want}",
                )
            )
    return problems


def _provider_fees(session: Session) -> list[Mismatch]:
    """Each card payment's processing fee against its one `payment.provider_fee` transaction
    (Dr `expense:provider_fees` / Cr `clearing:payments`); none for a fee unknown or of 0."""
    booked = booked_by_reference(session, (PROVIDER_FEE,))
    charged = session.exec(
        select(Payment.id, Payment.provider_fee_yen).where(col(Payment.provider_fee_yen) > 0)
    ).all()
    problems: list[Mismatch] = []
    for payment_id, fee in charged:
        expected = [
            Posting(PROVIDER_FEES_ACCOUNT, debit_yen=fee or 0),
            Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=fee or 0),
        ]
        problems += _one(payment_id, "provider fee", booked.pop(payment_id, []), expected)
    for reference, txs in booked.items():
        for header, _ in txs:
            problems.append(
                Mismatch(
                    "extra_posting",
                    reference or "(none)",
                    f"provider fee transaction {header.id} names no payment with a fee",
                )
            )
    return problems


def reconcile(*, session: Session) -> list[Mismatch]:
    """Every difference between the ledger and the invoices and refunds."""
    ledger = booked_by_reference(session)
    invoices = {i.id: i for i in session.exec(select(Invoice))}
    refunds = {r.id: r for r in session.exec(select(InvoiceRefund))}
    refunded_by_invoice: dict[str, int] = defaultdict(int)
    # A card-paid invoice is repaid through the provider's clearing account, not the bank.
    by_card = set(
        session.exec(select(Payment.invoice_id).where(Payment.status == "succeeded")).all()
    )
    problems: list[Mismatch] = []
    for refund in refunds.values():
        refunded_by_invoice[refund.invoice_id] += refund.amount_yen
        invoice = invoices.get(refund.invoice_id)
        if invoice is None:
            problems.append(Mismatch("extra_posting", refund.id, "refund of a missing invoice"))
            continue
        txs = [t for t in ledger.get(refund.id, []) if t[0].kind == REFUNDED]
        source = PAYMENT_CLEARING_ACCOUNT if invoice.id in by_card else CASH_ACCOUNT
        expected = refund_postings(invoice=invoice, refund=refund, source=source)
        problems += _one(refund.id, "refund", txs, expected)
    for invoice in invoices.values():
        txs = ledger.get(invoice.id, [])
        issued = [t for t in txs if t[0].kind == ISSUED]
        problems += _one(invoice.id, "issuing", issued, invoice_postings(invoice=invoice))
        payments = [t for t in txs if t[0].kind in PAYMENTS]
        if invoice.status in PAID_STATES:
            source = next(
                (a for _, lines in payments for a, yen in lines.items() if yen > 0), CASH_ACCOUNT
            )
            if payments:
                problems += _one(
                    invoice.id,
                    "payment",
                    payments,
                    payment_postings(invoice=invoice, source=source),
                )
            else:
                problems.append(
                    Mismatch("state_mismatch", invoice.id, "paid, but the ledger has no payment")
                )
        elif payments:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    invoice.id,
                    f"{invoice.status}, but the ledger booked its payment ({payments[0][0].id})",
                )
            )
        if refunded_by_invoice[invoice.id] != invoice.refunded_yen:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    invoice.id,
                    f"records {invoice.refunded_yen:,} yen refunded; its refunds add up to "
                    f"{refunded_by_invoice[invoice.id]:,} yen",
                )
            )
        fully = invoice.refunded_yen == invoice.amount_yen
        if (invoice.status == "refunded") != fully:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    invoice.id,
                    f"is {invoice.status} with {invoice.refunded_yen:,} of "
                    f"{invoice.amount_yen:,} yen refunded",
                )
            )
    problems += _provider_fees(session)
    for reference, txs in ledger.items():
        if reference not in invoices and reference not in refunds:
            for header, _ in txs:
                problems.append(
                    Mismatch(
                        "extra_posting",
                        reference or "(none)",
                        f"{header.kind} transaction {header.id} names no invoice or refund",
                    )
                )
    return problems
