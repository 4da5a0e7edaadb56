"""ratings revisions and linkable data

Revision ID: 0012
Revises: 0011

Ratings of paid licences (market/ratings), dataset revisions and what a licence covers
(market/revisions), and 個人関連情報: linkable columns of a dataset, the listing's flag and the
buyer's confirmation recorded with the trade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

import market.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rating",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("licence_id", AutoString(), nullable=False),
        sa.Column("buyer_id", AutoString(), nullable=False),
        sa.Column("seller_id", AutoString(), nullable=False),
        sa.Column("dataset_id", AutoString(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", AutoString(length=2000), nullable=True),
        sa.Column("paid_yen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["buyer_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"]),
        sa.ForeignKeyConstraint(["licence_id"], ["licence.id"]),
        sa.ForeignKeyConstraint(["seller_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("licence_id"),
    )
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rating_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rating_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "datasetrevision",
        sa.Column("id", AutoString(), nullable=False),
        sa.Column("dataset_id", AutoString(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("blob_id", AutoString(length=64), nullable=False),
        sa.Column("note", AutoString(length=1000), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source_encoding", AutoString(length=20), nullable=False),
        sa.Column("sha256", AutoString(length=64), nullable=False),
        sa.Column("quality_score", sa.Integer(), nullable=False),
        sa.Column("quality", sa.JSON(), nullable=True),
        sa.Column("linkable_columns", sa.JSON(), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "number"),
    )
    with op.batch_alter_table("datasetrevision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_datasetrevision_dataset_id"), ["dataset_id"], unique=False
        )

    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("linkable_columns", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("linkable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "covers",
                AutoString(length=20),
                nullable=False,
                server_default="revision",
            )
        )
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("linkable_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column(
                "covers",
                AutoString(length=20),
                nullable=False,
                server_default="revision",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_column("covers")
        batch_op.drop_column("revision")
    with op.batch_alter_table("trade", schema=None) as batch_op:
        batch_op.drop_column("linkable_consent")
    with op.batch_alter_table("listing", schema=None) as batch_op:
        batch_op.drop_column("covers")
        batch_op.drop_column("linkable")
    with op.batch_alter_table("dataset", schema=None) as batch_op:
        batch_op.drop_column("linkable_columns")
    with op.batch_alter_table("datasetrevision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasetrevision_dataset_id"))
    op.drop_table("datasetrevision")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rating_seller_id"))
        batch_op.drop_index(batch_op.f("ix_rating_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_rating_buyer_id"))
    op.drop_table("rating")
