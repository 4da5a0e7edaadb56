"""catalog: an index of short (1–2 character) search terms on SQLite

Revision ID: 0018
Revises: 0017

FTS5's trigram index finds nothing for a term of one or two characters (東京, 血), so SQLite
tested such terms by LIKE while walking the listing cards. `catalog_grams` holds each catalog
entry's distinct one- and two-character substrings as tokens (market/catalog/grams.py), the
equivalent of PostgreSQL's GIN index on `catalog_grams(search_text)` (migration 0015), which
is unchanged. It is contentless and without positions; triggers on `catalog_entry` keep it in
step through the SQL function `catalog_gram_tokens`, which every SQLite connection of the market
registers, and give a deleted or rewritten entry's old tokens back from `old.search_text`.
Plain statements only: a batch copy of `catalog_entry` would drop its triggers.
"""

from collections.abc import Sequence

from alembic import op

from market.catalog.tables import register_sqlite_functions

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADD = (
    "INSERT INTO catalog_grams(rowid, grams) VALUES (new.seq, catalog_gram_tokens(new.search_text))"
)
REMOVE = (
    "INSERT INTO catalog_grams(catalog_grams, rowid, grams) "
    "VALUES ('delete', old.seq, catalog_gram_tokens(old.search_text))"
)
TRIGGERS = [
    ("catalog_grams_ai", "AFTER INSERT", f"{ADD};"),
    ("catalog_grams_ad", "AFTER DELETE", f"{REMOVE};"),
    ("catalog_grams_au", "AFTER UPDATE OF search_text", f"{REMOVE}; {ADD};"),
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # The connection may have been opened before the market's connect hook was imported.
    register_sqlite_functions(bind.connection.dbapi_connection)  # type: ignore[arg-type]
    op.execute(
        "CREATE VIRTUAL TABLE catalog_grams USING fts5(grams, content='', detail=none, "
        "columnsize=0, tokenize='ascii')"
    )
    for name, when, statements in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} ON catalog_entry BEGIN {statements} END")
    op.execute(
        "INSERT INTO catalog_grams(rowid, grams) "
        "SELECT seq, catalog_gram_tokens(search_text) FROM catalog_entry"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS catalog_grams")
