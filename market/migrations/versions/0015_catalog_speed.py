"""catalog search speed: a card per listing with its sort and filter keys, kept by triggers

Revision ID: 0015
Revises: 0014

GET /listings used to join listing, dataset, seller and catalog entry for every row it looked
at, and sorted by quality through the join. `catalog_listing` copies the keys every sort and
filter reads into one row per listing, with an index per sort, and triggers on listing,
dataset, participant and catalog_entry keep it in step on both databases, whatever path writes
them (ORM, Core bulk statements, the engine's status updates). On PostgreSQL a GIN index on the
one- and two-character substrings of the search text serves the terms pg_trgm cannot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import market.models

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every listing's card, read from its dataset, seller and entry (a trigger adds which listing:
# in an AFTER INSERT trigger the new row is already in the table).
CARDS = (
    "INSERT INTO catalog_listing (listing_id, dataset_id, seller_id, status, created_at, "
    "price_yen, instrument, quality_score, data_class, privacy_k, seller_kind, entry_seq, "
    "update_frequency, tags_text) SELECT l.id, l.dataset_id, l.seller_id, l.status, "
    "l.created_at, l.price_yen, l.instrument, d.quality_score, d.data_class, d.privacy_k, "
    "p.kind, e.seq, e.update_frequency, e.tags_text FROM listing l "
    "JOIN dataset d ON d.id = l.dataset_id JOIN participant p ON p.id = l.seller_id "
    "LEFT JOIN catalog_entry e ON e.dataset_id = l.dataset_id"
)
SET_LISTING = (
    "UPDATE catalog_listing SET status = new.status, created_at = new.created_at, "
    "price_yen = new.price_yen, instrument = new.instrument WHERE listing_id = new.id"
)
SET_DATASET = (
    "UPDATE catalog_listing SET quality_score = new.quality_score, data_class = new.data_class, "
    "privacy_k = new.privacy_k WHERE dataset_id = new.id"
)
SET_SELLER = "UPDATE catalog_listing SET seller_kind = new.kind WHERE seller_id = new.id"
SET_ENTRY = (
    "UPDATE catalog_listing SET entry_seq = new.seq, update_frequency = new.update_frequency, "
    "tags_text = new.tags_text WHERE dataset_id = new.dataset_id"
)
CLEAR_ENTRY = (
    "UPDATE catalog_listing SET entry_seq = NULL, update_frequency = NULL, tags_text = NULL "
    "WHERE dataset_id = old.dataset_id"
)
INSERT_CARD = CARDS + " WHERE l.id = new.id"
DELETE_CARD = "DELETE FROM catalog_listing WHERE listing_id = old.id"

# (name, table, when, statement)
TRIGGERS = [
    ("catalog_listing_ai", "listing", "AFTER INSERT", INSERT_CARD),
    (
        "catalog_listing_au",
        "listing",
        "AFTER UPDATE OF status, created_at, price_yen, instrument",
        SET_LISTING,
    ),
    ("catalog_listing_ad", "listing", "AFTER DELETE", DELETE_CARD),
    (
        "catalog_listing_dataset_au",
        "dataset",
        "AFTER UPDATE OF quality_score, data_class, privacy_k",
        SET_DATASET,
    ),
    ("catalog_listing_seller_au", "participant", "AFTER UPDATE OF kind", SET_SELLER),
    ("catalog_listing_entry_ai", "catalog_entry", "AFTER INSERT", SET_ENTRY),
    (
        "catalog_listing_entry_au",
        "catalog_entry",
        "AFTER UPDATE OF update_frequency, tags_text",
        SET_ENTRY,
    ),
    ("catalog_listing_entry_ad", "catalog_entry", "AFTER DELETE", CLEAR_ENTRY),
]

# Every distinct one- and two-character substring without whitespace: `grams @> ARRAY[term]`
# finds a term of one or two characters through a GIN index, where pg_trgm has no trigram.
POSTGRES_GRAMS = [
    "CREATE FUNCTION catalog_grams(body text) RETURNS text[] LANGUAGE sql IMMUTABLE "
    "PARALLEL SAFE AS $$ SELECT coalesce(array_agg(DISTINCT gram), '{}') FROM ("
    "SELECT substr(body, i, n) AS gram FROM generate_series(1, length(body)) AS i, "
    "(VALUES (1), (2)) AS sizes(n) WHERE i + n - 1 <= length(body)) AS grams "
    "WHERE gram !~ '\\s' $$",
    "CREATE INDEX ix_catalog_entry_search_grams ON catalog_entry USING gin "
    "(catalog_grams(search_text))",
]


def upgrade() -> None:
    op.create_table(
        "catalog_listing",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.String(), nullable=False),
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("seller_id", sa.String(), nullable=False),
        sa.Column("entry_seq", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", market.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("price_yen", sa.BigInteger(), nullable=False),
        sa.Column("instrument", sa.String(length=140), nullable=False),
        sa.Column("quality_score", sa.Integer(), nullable=False),
        sa.Column("data_class", sa.String(length=20), nullable=False),
        sa.Column("privacy_k", sa.Integer(), nullable=True),
        sa.Column("seller_kind", sa.String(length=20), nullable=False),
        sa.Column("update_frequency", sa.String(length=20), nullable=True),
        sa.Column("tags_text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("listing_id"),
    )
    for name, columns in (
        ("ix_catalog_listing_dataset_id", ["dataset_id"]),
        ("ix_catalog_listing_seller_id", ["seller_id"]),
        ("ix_catalog_listing_entry_seq", ["entry_seq"]),
        ("ix_catalog_listing_recency", ["status", "created_at", "listing_id"]),
        ("ix_catalog_listing_price", ["status", "price_yen", "listing_id"]),
        ("ix_catalog_listing_quality", ["status", "quality_score", "listing_id"]),
    ):
        op.create_index(name, "catalog_listing", columns, unique=False)
    op.execute(CARDS)
    if op.get_bind().dialect.name == "sqlite":
        for name, table, when, statement in TRIGGERS:
            op.execute(f"CREATE TRIGGER {name} {when} ON {table} BEGIN {statement}; END")
        return
    for name, table, when, statement in TRIGGERS:
        op.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{statement}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
        )
    for statement in POSTGRES_GRAMS:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name != "sqlite"
    for name, table, _, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_catalog_entry_search_grams")
        op.execute("DROP FUNCTION IF EXISTS catalog_grams(text)")
    op.drop_table("catalog_listing")
