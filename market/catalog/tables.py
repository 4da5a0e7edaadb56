"""The catalog's table: each dataset's listing metadata and the text its search runs over.

One row per dataset, written when the dataset is inserted (market/catalog/indexing.py) and when
its seller sets its metadata. `search_text` is the dataset's searchable fields, NFKC-normalized
and case-folded in Python, so that SQLite and PostgreSQL compare the same characters.

The search indexes are not declared here because SQLAlchemy cannot describe them: on SQLite an
FTS5 trigram table `catalog_search` (with its shadow tables) kept in step by triggers, on
PostgreSQL a pg_trgm GIN index on `search_text`. Migration 0011 creates them; `modelled` tells
the schema comparison to leave them out.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlmodel import Field, SQLModel

from market.models import Dataset, _created

FTS_TABLE = "catalog_search"
TRIGRAM_INDEX = "ix_catalog_entry_search_trgm"
_UNMODELLED = frozenset(
    {
        FTS_TABLE,
        *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config", "content")),
        TRIGRAM_INDEX,
    }
)


def modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic `include_name`: whether a database object is one the models describe."""
    return name not in _UNMODELLED


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
