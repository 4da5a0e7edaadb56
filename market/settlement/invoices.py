"""Invoices on the embedded default (請求書払い): issued per trade, paid by bank transfer.

Each trade is one invoice to its buyer, booked in the ledger in the same transaction. Under the
intermediary rule (媒介者交付特例) the market issues it in its own name and registration
number, and it is a qualified invoice (適格請求書) only when both the market and the seller are
registered; otherwise it says it is not one. What an invoice says is fixed when it is issued
(`particulars`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Engine,
    Executable,
    Insert,
    Table,
    Update,
    bindparam,
    func,
    insert,
    inspect,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from market.audit import record_operator_action
from market.errors import Conflict, NotFound
from market.events import record_event
from market.models import (
    Dataset,
    Instrument,
    Invoice,
    Listing,
    Participant,
    Trade,
    new_id,
    utcnow,
)
from market.settlement.ledger import (
    CASH_ACCOUNT,
    FEE_ACCOUNT,
    TAX_PAYABLE_ACCOUNT,
    Posting,
    payable,
    post,
    receivable,
)
from market.settlement.tax import charge_for

# The key under which a unit of work carries the market's invoicing terms (Session.info).
TERMS_KEY = "settlement_terms"
INDIVIDUAL_LABEL = "個人 / individual"


@dataclass(frozen=True)
class SettlementTerms:
    """The market's side of every invoice, from its settings."""

    legal_name: str = "データ取引市場 Datamarket"
    registration_number: str | None = None
    payment_terms_days: int = 30
    # Card payments (market/settlement/payments): on when a provider is configured; a trade
    # whose card payment keeps failing fails this many hours after its first failure.
    card_payments: bool = False
    payment_deadline_hours: int = 72


# Each market's terms by its database engine, so that a trade settled in any unit of work of
# that market (the order book's, or a bank's or person's decision) is invoiced on its terms.
_TERMS_BY_ENGINE: "WeakKeyDictionary[Engine, SettlementTerms]" = WeakKeyDictionary()


def register_terms(engine: Engine, terms: SettlementTerms) -> None:
    """Invoice every trade settled through this engine on these terms."""
    _TERMS_BY_ENGINE[engine] = terms


def terms_of(session: Session) -> SettlementTerms:
    """The invoicing terms of the session's unit of work, else of its market's engine, else the
    defaults (no registration number: no qualified invoice)."""
    terms = session.info.get(TERMS_KEY)
    if isinstance(terms, SettlementTerms):
        return terms
    engine = getattr(session.get_bind(), "engine", None)  # an Engine's is itself
    found = _TERMS_BY_ENGINE.get(engine) if isinstance(engine, Engine) else None
    return found or SettlementTerms()


def is_taxable(participant: Participant) -> bool:
    """Whether the participant charges consumption tax on its sales.

    Undeclared, businesses and information banks are taxable and individuals are not (an
    individual not trading as a business, 事業者でない個人).
    """
    if participant.taxable_business is not None:
        return participant.taxable_business
    return participant.kind in ("business", "info_bank")


def invoice_postings(*, invoice: Invoice) -> list[Posting]:
    """The balanced postings that issue an invoice."""
    return [
        Posting(receivable(invoice.buyer_id), debit_yen=invoice.amount_yen),
        Posting(
            payable(invoice.seller_id or ""),
            credit_yen=invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen,
        ),
        Posting(FEE_ACCOUNT, credit_yen=invoice.fee_yen),
        Posting(TAX_PAYABLE_ACCOUNT, credit_yen=invoice.fee_tax_yen),
    ]


def _seller_label(seller: Participant) -> str:
    if seller.kind == "individual":
        # A person's name is not shown to buyers (docs/market-rules.md); an individual that is
        # not a taxable business issues no qualified invoice, which needs no name.
        return seller.display_name or INDIVIDUAL_LABEL
    return seller.name


def loaded_or_read(session: Session, model: type[Any], key: str, statement: Executable) -> Any:
    """What `session.get(model, key)` answers, without loading an ORM object when the session
    holds none: `session.get` itself when the session holds that row or an unflushed new row of
    the model, else the row `statement` reads with `key` bound (its columns named as the
    model's attributes), else None.

    Every trade reads its parties, fees and item: a prepared statement on the session's
    connection costs a fraction of an ORM load (issue 14).
    """
    if session.identity_map.get((model, (key,), None)) is not None or any(
        isinstance(pending, model) for pending in session.new
    ):
        return session.get(model, key)
    return session.connection().execute(statement, {"key": key}).first()


def insert_now(session: Session, row: Any) -> None:
    """Write a new ORM object's row at once through a prepared insert and keep the object in
    the session as persistent, as a flush of it would leave it.

    The rows a trade books are written this way (issue 14): the unit of work costs more than
    the inserts. New rows the session still holds are flushed first, as they may be what the
    row refers to; changes to loaded rows wait for the next flush.
    """
    if session.new:
        session.flush()
    table = type(row).__table__
    session.connection().execute(
        _insert_into(table), {column.key: getattr(row, column.key) for column in table.columns}
    )
    make_transient_to_detached(row)
    session.add(row)


@cache
def _insert_into(table: Table) -> Insert:
    return insert(table)


def update_now(session: Session, row: Any, **values: Any) -> None:
    """Write new values of a stored ORM object's columns at once through a prepared update and
    set them on the object as its committed state, as a flush of them would leave it; a value
    of None leaves its column as it is, and the object's other changes wait for the next flush.
    Like the flush, it refuses to update a row that is no longer there (StaleDataError)."""
    if inspect(row).pending:
        session.flush()
    changed = {name: value for name, value in values.items() if value is not None}
    table = type(row).__table__
    result = session.connection().execute(
        _update_of(table, tuple(changed)), {"key": row.id, **changed}
    )
    if result.rowcount != 1:
        raise StaleDataError(
            f"UPDATE statement on table '{table.name}' expected to update 1 row(s); "
            f"{result.rowcount} were matched."
        )
    for name, value in changed.items():
        set_committed_value(row, name, value)


@cache
def _update_of(table: Table, columns: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(table.c.id == bindparam("key"))
        .values({name: bindparam(name) for name in columns})
    )


@cache
def _party_statement() -> Executable:
    """What an invoice says of a participant, bound to `key` (its id)."""
    return sa_select(
        col(Participant.name),
        col(Participant.kind),
        col(Participant.display_name),
        col(Participant.taxable_business),
        col(Participant.invoice_registration_number),
    ).where(col(Participant.id) == bindparam("key"))


@cache
def _fees_statement() -> Executable:
    """An instrument's own fee rate and minimum, bound to `key` (its name)."""
    return sa_select(col(Instrument.fee_bps), col(Instrument.fee_minimum_yen)).where(
        col(Instrument.name) == bindparam("key")
    )


@cache
def _title_statement() -> Executable:
    """A dataset's title, bound to `key` (its id)."""
    return sa_select(col(Dataset.title)).where(col(Dataset.id) == bindparam("key"))


def settle_trade_by_invoice(*, session: Session, trade: Trade, fee_bps: int) -> Invoice:
    """Issue the buyer's invoice for a trade and book it in the ledger.

    `fee_bps` is the market's default fee rate; the trade's instrument may set its own rate
    and minimum. Its parties, fees and item are read as they stand in this transaction.
    """
    terms = terms_of(session)
    listing = session.get(Listing, trade.listing_id)
    seller = loaded_or_read(session, Participant, trade.seller_id, _party_statement())
    buyer = loaded_or_read(session, Participant, trade.buyer_id, _party_statement())
    if listing is None or seller is None or buyer is None:
        raise RuntimeError("a trade names a listing or participant the market does not know")
    instrument = loaded_or_read(session, Instrument, trade.instrument, _fees_statement())
    rate_bps = fee_bps
    minimum = 0
    if instrument is not None:
        rate_bps = fee_bps if instrument.fee_bps is None else instrument.fee_bps
        minimum = instrument.fee_minimum_yen
    taxable = is_taxable(seller)
    charge = charge_for(
        unit_price_yen=trade.price_yen,
        quantity=trade.quantity,
        price_includes_tax=listing.price_includes_tax,
        seller_taxable=taxable,
        fee_bps=rate_bps,
        fee_minimum_yen=minimum,
    )
    seller_number = seller.invoice_registration_number if taxable else None
    qualified = seller_number is not None and terms.registration_number is not None
    dataset = loaded_or_read(session, Dataset, trade.dataset_id, _title_statement())
    issued_at = utcnow()
    # Every field given (no default factory runs): a table model's defaults cost more than the
    # rest of its construction (issue 14).
    invoice = Invoice(
        id=new_id(),
        buyer_id=trade.buyer_id,
        seller_id=trade.seller_id,
        trade_id=trade.id,
        amount_yen=charge.total_yen,
        net_yen=charge.net_yen,
        tax_yen=charge.tax_yen,
        tax_rate_percent=charge.tax_rate_percent,
        fee_yen=charge.fee_yen,
        fee_tax_yen=charge.fee_tax_yen,
        price_includes_tax=listing.price_includes_tax,
        qualified=qualified,
        issued_at=issued_at,
        due_at=issued_at + timedelta(days=terms.payment_terms_days),
        particulars={
            "issuer_name": terms.legal_name,
            "issuer_registration_number": terms.registration_number if qualified else None,
            "seller_name": _seller_label(seller),
            "seller_registration_number": seller_number,
            "recipient_name": buyer.name,
            "transaction_at": trade.created_at.isoformat(),
            "item": f"{dataset.title if dataset else trade.dataset_id} ({trade.instrument})",
            "dataset_id": trade.dataset_id,
            "quantity": trade.quantity,
            "unit_price_yen": trade.price_yen,
            "fee_bps": rate_bps,
            "fee_minimum_yen": minimum,
        },
    )
    insert_now(session, invoice)
    post(
        session,
        invoice_postings(invoice=invoice),
        memo=f"trade {trade.id}",
        kind="invoice.issued",
        reference_id=invoice.id,
    )
    record_event(
        session,
        "InvoiceIssued",
        {"invoice_id": invoice.id, "trade_id": trade.id, "amount_yen": invoice.amount_yen},
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


def payment_postings(*, invoice: Invoice, source: str) -> list[Posting]:
    """Cash (or the buyer's deposit) pays the invoice's receivable."""
    return [
        Posting(source, debit_yen=invoice.amount_yen),
        Posting(receivable(invoice.buyer_id), credit_yen=invoice.amount_yen),
    ]


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
        payment_postings(invoice=invoice, source=CASH_ACCOUNT),
        memo=f"payment of invoice {invoice.id}",
        kind="invoice.paid",
        reference_id=invoice.id,
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


def is_overdue(invoice: Invoice, now: datetime) -> bool:
    """An issued invoice past its due date."""
    return invoice.status == "issued" and invoice.due_at is not None and now > invoice.due_at


def get_invoice_for(*, session: Session, viewer: Participant, invoice_id: str) -> Invoice:
    """An invoice its buyer, its seller (a copy) or an operator may see."""
    invoice = session.get(Invoice, invoice_id)
    allowed = invoice is not None and (
        viewer.kind == "operator" or viewer.id in (invoice.buyer_id, invoice.seller_id)
    )
    if invoice is None or not allowed:
        # The same answer for another's invoice as for none, so ids cannot be probed.
        raise NotFound(f"invoice {invoice_id} does not exist or is not yours")
    return invoice
