"""Settlement's own tables: a header per ledger transaction, and refunds (返還インボイス)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from market.models import _created, _yen, new_id


class LedgerTransaction(SQLModel, table=True):
    """What one balanced ledger transaction was for, and a digest of its entries.

    The digest (SHA-256 over the transaction's lines) lets `datamarket settlement check` prove
    that no entry was changed, added or removed after it was posted. Rows are never changed.
    """

    __tablename__ = "ledger_transaction"

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=40, index=True)
    reference_id: str | None = Field(default=None, max_length=64, index=True)
    digest: str = Field(max_length=64)
    created_at: datetime = _created()


class InvoiceRefund(SQLModel, table=True):
    """A refund of (part of) an invoice, and the return invoice (適格返還請求書) it issues."""

    __tablename__ = "invoice_refund"

    id: str = Field(default_factory=new_id, primary_key=True)
    invoice_id: str = Field(foreign_key="invoice.id", index=True)
    operator_id: str = Field(foreign_key="participant.id")
    amount_yen: int = _yen()
    net_yen: int = _yen()
    tax_yen: int = _yen()
    fee_yen: int = _yen()
    fee_tax_yen: int = _yen()
    reason: str = Field(max_length=500)
    transaction_id: str = Field(max_length=32)
    particulars: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = _created()
