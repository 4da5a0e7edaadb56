"""catalog metadata and search: the catalog entry per dataset and its text indexes

Revision ID: 0011
Revises: 0010

SQLite gets an FTS5 trigram index over `catalog_entry.search_text` kept in step by triggers;
PostgreSQL a pg_trgm GIN index on the same column (market/catalog/search.py says how each is
queried). Existing datasets get their entries here.
"""

from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

import market.models
from market.catalog.indexing import entry_values

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE catalog_search USING fts5(search_text, content='catalog_entry', "
    "content_rowid='seq', tokenize='trigram case_sensitive 1', columnsize=0)",
    "CREATE TRIGGER catalog_entry_ai AFTER INSERT ON catalog_entry BEGIN "
    "INSERT INTO catalog_search(rowid, search_text) VALUES (new.seq, new.search_text); END",
    "CREATE TRIGGER catalog_entry_ad AFTER DELETE ON catalog_entry BEGIN "
    "INSERT INTO catalog_search(catalog_search, rowid, search_text) "
    "VALUES ('delete', old.seq, old.search_text); END",
    "CREATE TRIGGER catalog_entry_au AFTER UPDATE OF search_text ON catalog_entry BEGIN "
    "INSERT INTO catalog_search(catalog_search, rowid, search_text) "
    "VALUES ('delete', old.seq, old.search_text); "
    "INSERT INTO catalog_search(rowid, search_text) VALUES (new.seq, new.search_text); END",
]
POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_catalog_entry_search_trgm ON catalog_entry USING gin "
    "(search_text gin_trgm_ops)",
]


def upgrade() -> None:
    op.create_table(
        "catalog_entry",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("tags_text", sa.Text(), nullable=False),
        sa.Column("update_frequency", sa.String(length=20), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("updated_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["dataset.id"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("dataset_id"),
    )
    op.create_index(
        "ix_catalog_entry_update_frequency", "catalog_entry", ["update_frequency"], unique=False
    )
    op.create_index(
        "ix_listing_status_price", "listing", ["status", "price_yen", "id"], unique=False
    )
    op.create_index("ix_dataset_quality_score", "dataset", ["quality_score", "id"], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_INDEX if dialect == "sqlite" else POSTGRES_INDEX:
        op.execute(statement)
    _backfill()


def _backfill() -> None:
    """An entry for every dataset already stored (the triggers index them on SQLite)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, title, description, category, tags, columns, data_schema FROM dataset")
    ).mappings()
    json = sa.JSON()
    entries = []
    for row in rows:
        dataset = SimpleNamespace(
            title=row["title"],
            description=row["description"],
            category=row["category"],
            tags=_json(json, bind, row["tags"]) or [],
            columns=_json(json, bind, row["columns"]) or [],
            data_schema=_json(json, bind, row["data_schema"]),
        )
        entries.append({"dataset_id": row["id"], **entry_values(dataset, None)})
    if entries:
        entry = sa.table(
            "catalog_entry",
            sa.column("dataset_id"),
            sa.column("search_text"),
            sa.column("tags_text"),
            sa.column("update_frequency"),
            sa.column("updated_at", market.models.UTCDateTime(timezone=True)),
        )
        op.bulk_insert(entry, entries)


def _json(kind: sa.JSON, bind: sa.Connection, value: object) -> object:
    """A JSON column read through plain SQL: text on SQLite, already decoded on PostgreSQL."""
    processor = kind.result_processor(bind.dialect, None)
    return processor(value) if processor is not None and isinstance(value, str) else value


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("catalog_entry_ai", "catalog_entry_ad", "catalog_entry_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_search")
    else:
        op.execute("DROP INDEX IF EXISTS ix_catalog_entry_search_trgm")
    op.drop_index("ix_dataset_quality_score", table_name="dataset")
    op.drop_index("ix_listing_status_price", table_name="listing")
    op.drop_index("ix_catalog_entry_update_frequency", table_name="catalog_entry")
    op.drop_table("catalog_entry")
