"""payments with Stripe: payment accounts, payments, attempts, webhook events, disputes

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import market.models

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int | None = None) -> AutoString:
    return AutoString(length=length)


def upgrade() -> None:
    ts = market.models.UTCDateTime
    op.create_table(
        "payment_account",
        sa.Column("participant_id", _text(), nullable=False),
        sa.Column("customer_id", _text(64), nullable=True),
        sa.Column("payment_method_id", _text(64), nullable=True),
        sa.Column("connected_account_id", _text(64), nullable=True),
        sa.Column("created_at", ts(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("participant_id"),
    )
    op.create_table(
        "payment",
        sa.Column("id", _text(), nullable=False),
        sa.Column("buyer_id", _text(), nullable=False),
        sa.Column("bid_id", _text(), nullable=False),
        sa.Column("trade_id", _text(), nullable=True),
        sa.Column("invoice_id", _text(), nullable=True),
        sa.Column("capture_method", _text(10), nullable=False),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.Column("capture_yen", sa.BigInteger(), nullable=False),
        sa.Column("application_fee_yen", sa.BigInteger(), nullable=False),
        sa.Column("destination", _text(64), nullable=True),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("intent_id", _text(64), nullable=True),
        sa.Column("charge_id", _text(64), nullable=True),
        sa.Column("failure_reason", _text(300), nullable=True),
        sa.Column("deadline_at", ts(timezone=True), nullable=True),
        sa.Column("refunded_yen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", ts(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["bid_id"], ["bid.id"]),
        sa.ForeignKeyConstraint(["trade_id"], ["trade.id"]),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        for column in ("buyer_id", "bid_id", "trade_id", "invoice_id", "status", "intent_id"):
            batch_op.create_index(batch_op.f(f"ix_payment_{column}"), [column], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_charge_id"), ["charge_id"], unique=False)
    op.create_table(
        "payment_attempt",
        sa.Column("id", _text(), nullable=False),
        sa.Column("payment_id", _text(), nullable=False),
        sa.Column("operation", _text(60), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", _text(200), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("detail", _text(300), nullable=True),
        sa.Column("created_at", ts(timezone=True), nullable=False),
        sa.Column("finished_at", ts(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("payment_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_attempt_payment_id"), ["payment_id"], unique=False
        )
    op.create_table(
        "webhook_event",
        sa.Column("id", _text(100), nullable=False),
        sa.Column("type", _text(100), nullable=False),
        sa.Column("outcome", _text(200), nullable=False),
        sa.Column("received_at", ts(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "dispute",
        sa.Column("id", _text(), nullable=False),
        sa.Column("provider_dispute_id", _text(64), nullable=False),
        sa.Column("payment_id", _text(), nullable=True),
        sa.Column("charge_id", _text(64), nullable=True),
        sa.Column("amount_yen", sa.BigInteger(), nullable=False),
        sa.Column("reason", _text(100), nullable=False),
        sa.Column("status", _text(40), nullable=False),
        sa.Column("created_at", ts(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_dispute_id"),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispute_payment_id"), ["payment_id"], unique=False)


def downgrade() -> None:
    op.drop_table("dispute")
    op.drop_table("webhook_event")
    op.drop_table("payment_attempt")
    op.drop_table("payment")
    op.drop_table("payment_account")
