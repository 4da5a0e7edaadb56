"""persons and banks follow-up: provisional trades of PDS records (unwound through the engine);
the records per licence a bid reserves credit for

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bid", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("records_per_licence", sa.Integer(), nullable=False, server_default="1")
        )
    op.create_table(
        "provisionaltrade",
        sa.Column("trade_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("licences", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("concluded_at", market.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["provisionrequest.id"]),
        sa.ForeignKeyConstraint(["trade_id"], ["trade.id"]),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("provisionaltrade", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provisionaltrade_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("provisionaltrade", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisionaltrade_request_id"))

    op.drop_table("provisionaltrade")
    with op.batch_alter_table("bid", schema=None) as batch_op:
        batch_op.drop_column("records_per_licence")
