"""Settlement's own tables: ledger transaction headers, refunds (返還インボイス), and card
payments at the provider (accounts, payments, attempts, webhook events, disputes)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from market.models import _created, _optional_ts, _yen, new_id


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


class PaymentAccount(SQLModel, table=True):
    """A participant at the payment provider: a buyer's Customer and card, a seller's
    connected account (Connect). Only provider ids are kept, never card details."""

    __tablename__ = "payment_account"

    participant_id: str = Field(primary_key=True, foreign_key="participant.id")
    customer_id: str | None = Field(default=None, max_length=64)
    payment_method_id: str | None = Field(default=None, max_length=64)
    connected_account_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class Payment(SQLModel, table=True):
    """One PaymentIntent: a card authorization for a bid, then the charge of one trade.

    `status` only moves forward (`payments.states`): requested, created, failed, authorized,
    capture_due or cancel_due, then succeeded, cancelled or expired. A failed payment of a
    trade is retried (back to requested, with a new attempt) until `deadline_at`.
    """

    __tablename__ = "payment"

    id: str = Field(default_factory=new_id, primary_key=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    bid_id: str = Field(foreign_key="bid.id", index=True)
    trade_id: str | None = Field(default=None, foreign_key="trade.id", index=True)
    invoice_id: str | None = Field(default=None, foreign_key="invoice.id", index=True)
    # Held (manual capture) or charged at once; what is authorized, what a trade captures.
    capture_method: str = Field(default="manual", max_length=10)
    amount_yen: int = _yen()
    capture_yen: int = _yen(0)
    # The market fee and its tax (application_fee_amount) and the seller's connected account,
    # when the charge is a Connect destination charge.
    application_fee_yen: int = _yen(0)
    destination: str | None = Field(default=None, max_length=64)
    status: str = Field(default="requested", max_length=20, index=True)
    intent_id: str | None = Field(default=None, max_length=64, index=True)
    charge_id: str | None = Field(default=None, max_length=64, index=True)
    failure_reason: str | None = Field(default=None, max_length=300)
    deadline_at: datetime | None = _optional_ts()
    refunded_yen: int = _yen(0)
    # The provider's processing fee of the charge (its balance transaction's `fee`), once known
    # and booked to `expense:provider_fees`; None until then.
    provider_fee_yen: int | None = _yen(nullable=True)
    # A bank's pooled sale: charged on the platform (separate charges and transfers), then its
    # share transferred to this connected account; the Transfer's id once made.
    transfer_to: str | None = Field(default=None, max_length=64)
    transfer_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created()


class PaymentAttempt(SQLModel, table=True):
    """One call to the payment provider, committed before it is sent.

    Its idempotency key is derived from (trade or payment, operation, attempt); the attempt
    number rises only after a definite failure, so a retry after a lost response reuses the
    key and the provider acts once. `status`: sent (outcome unknown until answered),
    succeeded, failed.
    """

    __tablename__ = "payment_attempt"

    id: str = Field(default_factory=new_id, primary_key=True)
    payment_id: str = Field(foreign_key="payment.id", index=True)
    operation: str = Field(max_length=60)
    attempt: int
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default="sent", max_length=20)
    detail: str | None = Field(default=None, max_length=300)
    created_at: datetime = _created()
    finished_at: datetime | None = _optional_ts()


class WebhookEvent(SQLModel, table=True):
    """A provider event already handled: a redelivery of the same id changes nothing."""

    __tablename__ = "webhook_event"

    id: str = Field(primary_key=True, max_length=100)
    type: str = Field(max_length=100)
    outcome: str = Field(max_length=200)
    received_at: datetime = _created()


class Dispute(SQLModel, table=True):
    """A dispute (chargeback) opened at the provider, for operators to answer."""

    __tablename__ = "dispute"

    id: str = Field(default_factory=new_id, primary_key=True)
    provider_dispute_id: str = Field(max_length=64, unique=True)
    payment_id: str | None = Field(default=None, foreign_key="payment.id", index=True)
    charge_id: str | None = Field(default=None, max_length=64)
    amount_yen: int = _yen()
    reason: str = Field(max_length=100)
    status: str = Field(max_length=40)
    created_at: datetime = _created()
