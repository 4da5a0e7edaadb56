"""payments with Stripe

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
