"""The catalog's table: each dataset's listing metadata and the text its search runs over.

One row per dataset, written when the dataset is inserted (market/catalog/indexing.py) and when
its seller sets its metadata. `search_text` is the dataset's searchable fields, NFKC-normalized
and case-folded in Python, so that SQLite and PostgreSQL compare the same characters.

`catalog_listing` holds one card per listing: the keys every sort and filter of GET /listings
reads (the listing's status, time and price, its dataset's quality, class and k, its seller's
kind, its entry's tags and update frequency), copied by database triggers whenever any of them
changes, so a page walks one index in sort order without joining four tables per row.

The search indexes and triggers are not declared here because SQLAlchemy cannot describe them:
on SQLite an FTS5 trigram table `catalog_search` and an FTS5 table of one- and two-character
grams `catalog_grams` (market/catalog/grams.py; with their shadow tables), on PostgreSQL pg_trgm
and short-term GIN indexes on `search_text`, and the card triggers on both. Migrations 0011,
0015 and 0018 create them; `modelled` tells the schema comparison to leave them out.
"""

import sqlite3
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlmodel import Field, SQLModel

from market.catalog.grams import SQL_FUNCTION, gram_tokens
from market.models import Dataset, UTCDateTime, _created

FTS_TABLE = "catalog_search"
GRAMS_TABLE = "catalog_grams"
TRIGRAM_INDEX = "ix_catalog_entry_search_trgm"
GRAMS_INDEX = "ix_catalog_entry_search_grams"
_SHADOWS = ("data", "idx", "docsize", "config", "content")
_UNMODELLED = frozenset(
    {
        FTS_TABLE,
        GRAMS_TABLE,
        *(f"{fts}_{shadow}" for fts in (FTS_TABLE, GRAMS_TABLE) for shadow in _SHADOWS),
        TRIGRAM_INDEX,
        GRAMS_INDEX,
    }
)


def modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name`: whether a database object is one the models describe."""
    return name not in _UNMODELLED


def register_sqlite_functions(connection: sqlite3.Connection) -> None:
    """Give a SQLite connection the function the `catalog_grams` triggers call (migration 0018).

    A connection without it (the sqlite3 shell, say) can read the catalog but fails, with
    "no such function", any statement that writes `catalog_entry`.
    """
    connection.create_function(SQL_FUNCTION, 1, gram_tokens, deterministic=True)


@event.listens_for(Engine, "connect")
def _sqlite_functions(dbapi_connection: Any, _: Any) -> None:
    # Every engine, whoever made it: the triggers fire on any write of catalog_entry.
    if isinstance(dbapi_connection, sqlite3.Connection):
        register_sqlite_functions(dbapi_connection)


class CatalogEntry(SQLModel, table=True):
    """A dataset's listing metadata (market.catalog.metadata.ListingMetadata) and search text.

    `seq` is an integer key because the SQLite full-text index refers to rows by integer rowid.
    `tags_text` holds the normalized tags as `,tag,tag,` so a tag filter is one LIKE on both
    databases.
    """

    __tablename__ = "catalog_entry"

    seq: int | None = Field(default=None, primary_key=True)
    dataset_id: str = Field(
        sa_column=Column(String(), ForeignKey("dataset.id"), nullable=False, unique=True)
    )
    search_text: str = Field(default="", sa_column=Column(Text(), nullable=False))
    tags_text: str = Field(default=",", sa_column=Column(Text(), nullable=False))
    update_frequency: str | None = Field(default=None, max_length=20, index=True)
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = _created()


# The table itself, for Core statements in flush events (which run outside the ORM session).
catalog_entries: Table = CatalogEntry.__table__  # type: ignore[attr-defined]

# GET /listings?sort=quality walks datasets by score instead of sorting every open listing.
# Declared here, beside the query it serves; it belongs to the dataset table.
Index(
    "ix_dataset_quality_score",
    Dataset.__table__.c.quality_score,  # type: ignore[attr-defined]
    Dataset.__table__.c.id,  # type: ignore[attr-defined]
)


class ListingCard(SQLModel, table=True):
    """The sort and filter keys of one listing, kept by triggers (migration 0015); never written
    by the application.

    Each sort has an index (status, key, listing_id), matching its ORDER BY with the tie-break,
    so the first page and every later one (a cursor's keys) start by seeking in the index.
    """

    __tablename__ = "catalog_listing"
    __table_args__ = (
        Index("ix_catalog_listing_recency", "status", "created_at", "listing_id"),
        Index("ix_catalog_listing_price", "status", "price_yen", "listing_id"),
        Index("ix_catalog_listing_quality", "status", "quality_score", "listing_id"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    listing_id: str = Field(sa_column=Column(String(), nullable=False, unique=True))
    dataset_id: str = Field(sa_column=Column(String(), nullable=False, index=True))
    seller_id: str = Field(sa_column=Column(String(), nullable=False, index=True))
    entry_seq: int | None = Field(default=None, sa_column=Column(Integer(), index=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    price_yen: int = Field(sa_column=Column(BigInteger(), nullable=False))
    instrument: str = Field(sa_column=Column(String(140), nullable=False))
    quality_score: int = Field(sa_column=Column(Integer(), nullable=False))
    data_class: str = Field(sa_column=Column(String(20), nullable=False))
    privacy_k: int | None = Field(default=None, sa_column=Column(Integer(), nullable=True))
    seller_kind: str = Field(sa_column=Column(String(20), nullable=False))
    update_frequency: str | None = Field(default=None, sa_column=Column(String(20)))
    tags_text: str | None = Field(default=None, sa_column=Column(Text()))


listing_cards: Table = ListingCard.__table__  # type: ignore[attr-defined]
