"""dataset quality: the seller's column dictionary and the quality breakdown behind the score

Revision ID: 0008
Revises: 0009

0009 was written before this file and revises 0007, so this revision follows it to keep one head.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_schema", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("quality")
        batch_op.drop_column("data_schema")
