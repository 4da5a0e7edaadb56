"""persons trading: listings of records kept in PDSs (a bank's pool or a person's own)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import market.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personallisting",
        sa.Column("listing_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("holder_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("min_cohort", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["holder_id"],
            ["participant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listing.id"],
        ),
        sa.PrimaryKeyConstraint("listing_id"),
    )
    with op.batch_alter_table("personallisting", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personallisting_holder_id"), ["holder_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("personallisting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personallisting_holder_id"))

    op.drop_table("personallisting")
