"""Refunds of paid invoices, driven by an operator, and their return invoices (適格返還請求書).

A refund books the reversal of (part of) the invoice's postings: the seller's share, the
market's fee and the fee's tax are taken back in proportion (rounded down), the last refund
takes back exactly what remains, and the buyer is repaid by bank transfer (`cash:bank`).
The refunded total is raised with a conditional update, so concurrent refunds never exceed
the invoice. A card payment's refunds made at the provider (its dashboard, booked from the
`charge.refunded` webhook by `payments/booking.py`) count as taken back too, so the seller's
part of all refunds together never exceeds its share of the invoice.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session, col, select

from market.audit import record_operator_action
from market.errors import Conflict, InvalidRequest, NotFound
from market.events import record_event
from market.models import Invoice, LedgerEntry, Participant
from market.money import MAX_YEN
from market.settlement.ledger import (
    CASH_ACCOUNT,
    FEE_ACCOUNT,
    PAYMENT_CLEARING_ACCOUNT,
    TAX_PAYABLE_ACCOUNT,
    Posting,
    payable,
    post,
)
from market.settlement.tables import InvoiceRefund, LedgerTransaction, Payment

REFUNDABLE = ("paid", "refunded")
# A refund made at the payment provider, not through the market, named by its card payment.
REFUNDED_AT_PROVIDER = "payment.refunded_at_provider"


@dataclass(frozen=True)
class ProviderRefund:
    """A refund made at the provider as the ledger booked it: its transaction, the amount, and
    the market fee's and the fee tax's parts it took back."""

    transaction_id: str
    amount_yen: int
    fee_yen: int
    fee_tax_yen: int

    @property
    def seller_yen(self) -> int:
        """What it took back from the seller's (or bank's) payable."""
        return self.amount_yen - self.fee_yen - self.fee_tax_yen


def refunded_at_provider(session: Session, *, payment_ids: Sequence[str]) -> list[ProviderRefund]:
    """The refunds made at the provider booked for these card payments, oldest first, read
    from their ledger lines (the buyer repaid from `clearing:payments`, the fee and fee tax
    taken back)."""
    if not payment_ids:
        return []
    headers = session.exec(
        select(LedgerTransaction)
        .where(
            LedgerTransaction.kind == REFUNDED_AT_PROVIDER,
            col(LedgerTransaction.reference_id).in_(payment_ids),
        )
        .order_by(col(LedgerTransaction.created_at), col(LedgerTransaction.id))
    ).all()
    if not headers:
        return []
    entries = session.exec(
        select(LedgerEntry).where(col(LedgerEntry.transaction_id).in_([h.id for h in headers]))
    ).all()
    found = []
    for header in headers:
        lines = [e for e in entries if e.transaction_id == header.id]
        found.append(
            ProviderRefund(
                transaction_id=header.id,
                amount_yen=sum(
                    e.credit_yen for e in lines if e.account == PAYMENT_CLEARING_ACCOUNT
                ),
                fee_yen=sum(e.debit_yen for e in lines if e.account == FEE_ACCOUNT),
                fee_tax_yen=sum(e.debit_yen for e in lines if e.account == TAX_PAYABLE_ACCOUNT),
            )
        )
    return found


def _refunded_at_provider_of(session: Session, invoice_id: str) -> tuple[int, int, int]:
    """(amount, fee, fee tax) refunded at the provider of an invoice's card payment."""
    payment_ids = session.exec(select(Payment.id).where(Payment.invoice_id == invoice_id)).all()
    found = refunded_at_provider(session, payment_ids=list(payment_ids))
    return (
        sum(r.amount_yen for r in found),
        sum(r.fee_yen for r in found),
        sum(r.fee_tax_yen for r in found),
    )


def taken_back(session: Session, *, invoice_id: str) -> tuple[int, int, int]:
    """(amount, fee, fee tax) of an invoice taken back so far, by the market's refunds and by
    refunds made at the provider."""
    amount, _, _, fee, fee_tax = _already_refunded(session, invoice_id)
    elsewhere = _refunded_at_provider_of(session, invoice_id)
    return amount + elsewhere[0], fee + elsewhere[1], fee_tax + elsewhere[2]


def refund_postings(
    *, invoice: Invoice, refund: InvoiceRefund, source: str = CASH_ACCOUNT
) -> list[Posting]:
    """The balanced postings that take a refund back from the seller and the market; the buyer
    is repaid from `source` (the bank, or the card provider's clearing account)."""
    return [
        Posting(
            payable(invoice.seller_id or ""),
            debit_yen=refund.amount_yen - refund.fee_yen - refund.fee_tax_yen,
        ),
        Posting(FEE_ACCOUNT, debit_yen=refund.fee_yen),
        Posting(TAX_PAYABLE_ACCOUNT, debit_yen=refund.fee_tax_yen),
        Posting(source, credit_yen=refund.amount_yen),
    ]


def _already_refunded(session: Session, invoice_id: str) -> tuple[int, int, int, int, int]:
    """(amount, net, tax, fee, fee tax) refunded so far of one invoice."""
    earlier = session.exec(
        select(InvoiceRefund).where(InvoiceRefund.invoice_id == invoice_id)
    ).all()
    return (
        sum(r.amount_yen for r in earlier),
        sum(r.net_yen for r in earlier),
        sum(r.tax_yen for r in earlier),
        sum(r.fee_yen for r in earlier),
        sum(r.fee_tax_yen for r in earlier),
    )


def apportion(amount_yen: int, shares: list[tuple[int, int]], whole_yen: int) -> list[int]:
    """Split an amount over components (total, what remains of it) in proportion to their
    totals, rounded down and never beyond what remains of each.

    The first component takes the rounding; what it cannot hold flows to the next ones. While
    the amount is at most what remains in all, every part is non-negative, and refunding all
    that remains takes back exactly what remains of each component.
    """
    parts = [0] + [min(total * amount_yen // whole_yen, left) for total, left in shares[1:]]
    parts[0] = amount_yen - sum(parts[1:])
    overflow = parts[0] - shares[0][1]
    if overflow > 0:
        parts[0] -= overflow
        for i in range(1, len(parts)):
            take = min(shares[i][1] - parts[i], overflow)
            parts[i] += take
            overflow -= take
    return parts


def split_fee(
    *, invoice: Invoice, amount_yen: int, taken: tuple[int, int, int]
) -> tuple[int, int, int]:
    """(seller's part, fee, fee tax) of a refund, in proportion to the invoice's, given what
    earlier refunds took back (amount, fee, fee tax): the seller's part never exceeds what is
    left of its share, so its payable never goes below zero."""
    refunded, fee, fee_tax = taken
    seller_total = invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen
    seller, fee_part, fee_tax_part = apportion(
        amount_yen,
        [
            (seller_total, seller_total - (refunded - fee - fee_tax)),
            (invoice.fee_yen, invoice.fee_yen - fee),
            (invoice.fee_tax_yen, invoice.fee_tax_yen - fee_tax),
        ],
        invoice.amount_yen,
    )
    return seller, fee_part, fee_tax_part


def split_refund(
    *,
    invoice: Invoice,
    amount_yen: int,
    earlier: tuple[int, int, int, int, int],
    elsewhere: tuple[int, int, int] = (0, 0, 0),
) -> tuple[int, int, int, int]:
    """(net, tax, fee, fee tax) of a refund, in proportion to the invoice's; `earlier` is what
    the market's refunds took before (amount, net, tax, fee, fee tax), `elsewhere` what
    refunds made at the provider took (amount, fee, fee tax)."""
    refunded, net, tax, fee, fee_tax = earlier
    net_part, tax_part = apportion(
        amount_yen,
        [(invoice.net_yen, invoice.net_yen - net), (invoice.tax_yen, invoice.tax_yen - tax)],
        invoice.amount_yen,
    )
    taken = (refunded + elsewhere[0], fee + elsewhere[1], fee_tax + elsewhere[2])
    _, fee_part, fee_tax_part = split_fee(invoice=invoice, amount_yen=amount_yen, taken=taken)
    return net_part, tax_part, fee_part, fee_tax_part


def refund_invoice(
    *,
    session: Session,
    operator: Participant,
    invoice_id: str,
    amount_yen: int,
    reason: str,
    source: str = CASH_ACCOUNT,
) -> InvoiceRefund:
    """Refund (part of) a paid invoice: reversing entries and a return invoice (audited)."""
    if not 0 < amount_yen <= MAX_YEN:
        raise InvalidRequest(f"amount_yen must be between 1 and {MAX_YEN:,}")
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist")
    if invoice.status not in REFUNDABLE:
        raise Conflict(
            f"invoice {invoice_id} is {invoice.status}: only a paid invoice is refunded; "
            "mark it paid when the buyer's transfer arrives"
        )
    claimed = session.execute(
        update(Invoice)
        .where(
            col(Invoice.id) == invoice_id,
            col(Invoice.status).in_(REFUNDABLE),
            col(Invoice.refunded_yen) + amount_yen <= col(Invoice.amount_yen),
        )
        .values(refunded_yen=col(Invoice.refunded_yen) + amount_yen)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        left = invoice.amount_yen - invoice.refunded_yen
        raise Conflict(
            f"invoice {invoice_id} has {max(left, 0):,} yen left to refund; "
            f"{amount_yen:,} yen is more"
        )
    net, tax, fee, fee_tax = split_refund(
        invoice=invoice,
        amount_yen=amount_yen,
        earlier=_already_refunded(session, invoice_id),
        elsewhere=_refunded_at_provider_of(session, invoice_id),
    )
    refund = InvoiceRefund(
        invoice_id=invoice.id,
        operator_id=operator.id,
        amount_yen=amount_yen,
        net_yen=net,
        tax_yen=tax,
        fee_yen=fee,
        fee_tax_yen=fee_tax,
        reason=reason.strip()[:500],
        transaction_id="",
        particulars=dict(invoice.particulars),
    )
    refund.transaction_id = post(
        session,
        refund_postings(invoice=invoice, refund=refund, source=source),
        memo=f"refund of invoice {invoice.id}",
        kind="invoice.refunded",
        reference_id=refund.id,
    )
    session.add(refund)
    session.refresh(invoice)
    if invoice.refunded_yen == invoice.amount_yen:
        invoice.status = "refunded"
        session.add(invoice)
    record_operator_action(
        session=session,
        operator=operator,
        action="invoice.refunded",
        target_id=invoice.id,
        reason=reason,
        details={"amount_yen": amount_yen, "refund_id": refund.id},
    )
    record_event(
        session,
        "InvoiceRefunded",
        {"invoice_id": invoice.id, "refund_id": refund.id, "amount_yen": amount_yen},
    )
    session.flush()
    return refund


def get_refund_for(*, session: Session, viewer: Participant, refund_id: str) -> InvoiceRefund:
    """A refund its invoice's buyer, seller or an operator may see."""
    refund = session.get(InvoiceRefund, refund_id)
    invoice = session.get(Invoice, refund.invoice_id) if refund is not None else None
    allowed = invoice is not None and (
        viewer.kind == "operator" or viewer.id in (invoice.buyer_id, invoice.seller_id)
    )
    if refund is None or not allowed:
        raise NotFound(f"refund {refund_id} does not exist or is not yours")
    return refund
