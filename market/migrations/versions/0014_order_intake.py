"""order intake: indexes for the outbox publisher and the hot order queries

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPUBLISHED = "published_at IS NULL"
INDEXES = (
    ("outboxevent", "ix_outboxevent_published_at", ["published_at"]),
    ("listing", "ix_listing_status_created", ["status", "created_at", "id"]),
    ("bid", "ix_bid_buyer_status_created", ["buyer_id", "status", "created_at", "id"]),
    ("bid", "ix_bid_status", ["status"]),
)


def upgrade() -> None:
    # Only the events still to publish: the publisher reads them in id order without a sort.
    op.create_index(
        "ix_outboxevent_unpublished",
        "outboxevent",
        ["id"],
        unique=False,
        sqlite_where=sa.text(UNPUBLISHED),
        postgresql_where=sa.text(UNPUBLISHED),
    )
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    op.drop_index("ix_outboxevent_unpublished", table_name="outboxevent")
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
