"""settlement: the payment provider's processing fee of each card payment, and the transfer
that pays an information bank its share of a pooled sale (separate charges and transfers)

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_fee_yen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("transfer_to", AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column("transfer_id", AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_column("transfer_id")
        batch_op.drop_column("transfer_to")
        batch_op.drop_column("provider_fee_yen")
