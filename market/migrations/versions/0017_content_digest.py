"""datasets: a content digest that ignores row order, column order and quoting

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for datasets stored before it: their bytes' sha256 still guards them. Plain ALTER
    # TABLE (no batch copy), which keeps the catalog's triggers on dataset (0015).
    op.add_column("dataset", sa.Column("content_digest", sa.String(length=64), nullable=True))
    op.create_index("ix_dataset_content_digest", "dataset", ["content_digest"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dataset_content_digest", table_name="dataset")
    op.drop_column("dataset", "content_digest")
