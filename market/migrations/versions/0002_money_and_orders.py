"""money and orders: 64-bit yen, participant verification, instruments, operator audit log

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable) of every money column, widened from INTEGER to BIGINT.
MONEY_COLUMNS = [
    ("participant", "credit_limit_yen", False),
    ("listing", "price_yen", False),
    ("bid", "max_price_yen", False),
    ("trade", "price_yen", False),
    ("invoice", "amount_yen", False),
    ("ledgerentry", "debit_yen", False),
    ("ledgerentry", "credit_yen", False),
]


def upgrade() -> None:
    for table, column, nullable in MONEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.Integer(), type_=sa.BigInteger(), nullable=nullable
            )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "country",
                sqlmodel.sql.sqltypes.AutoString(length=2),
                nullable=False,
                server_default="JP",
            )
        )
        batch_op.add_column(sa.Column("security_profile", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "verification",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="unverified",
            )
        )
        batch_op.add_column(
            sa.Column("verified_at", market.models.UTCDateTime(timezone=True), nullable=True)
        )
    for table in ("listing", "bid"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "status_reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True
                )
            )
    # Pending idempotency reservations become SQL NULL (they were stored as JSON null).
    op.execute("UPDATE idempotencyrecord SET response = NULL WHERE CAST(response AS TEXT) = 'null'")
    op.create_table(
        "instrument",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["participant.id"]),
        sa.PrimaryKeyConstraint("name"),
    )
    # Instruments that already have listings become registered instruments.
    op.execute(
        "INSERT INTO instrument (name, created_by, created_at) "
        "SELECT instrument, MIN(seller_id), MIN(created_at) FROM listing GROUP BY instrument"
    )
    op.create_table(
        "operatoraction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operatoraction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operatoraction_action"), ["action"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_operatoraction_operator_id"), ["operator_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_operatoraction_target_id"), ["target_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("operatoraction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operatoraction_target_id"))
        batch_op.drop_index(batch_op.f("ix_operatoraction_operator_id"))
        batch_op.drop_index(batch_op.f("ix_operatoraction_action"))
    op.drop_table("operatoraction")
    op.drop_table("instrument")
    for table in ("listing", "bid"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("status_reason")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        for column in (
            "verified_at",
            "verification",
            "security_profile",
            "country",
            "display_name",
        ):
            batch_op.drop_column(column)
    for table, column, nullable in MONEY_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(
                column, existing_type=sa.BigInteger(), type_=sa.Integer(), nullable=nullable
            )
