"""Finding listings: text search, filters, sort orders and keyset pages.

Text search is substring matching of every whitespace-separated term (AND), on the normalized
text of the catalog entry (market/catalog/indexing.py), and gives the same rows on both databases:

- SQLite: a term of three characters or more is looked up in the FTS5 trigram index
  (`catalog_search MATCH '"term"'`, a phrase of the term's trigrams: a substring match). A
  shorter term has no trigram (MATCH would find nothing for 東京 or 血), so it is matched by
  LIKE on the entry, after the trigram terms have narrowed the rows where there are any.
- PostgreSQL: `search_text LIKE '%term%'`, which the pg_trgm GIN index serves for terms of
  three characters or more. The text is already case-folded, so LIKE is the case-insensitive
  match (ILIKE would fold once more, with the database's locale rather than Python's rules).

Every sort ends with the listing id, so equal keys have one order on both databases, and a page
continues from an opaque cursor holding the last row's keys: rows inserted meanwhile never shift
what the next page holds.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import column, select, table, tuple_
from sqlmodel import Session, col

from market.catalog.indexing import search_terms, tags_text
from market.catalog.tables import FTS_TABLE, CatalogEntry
from market.catalog.views import joined, listing_columns
from market.errors import InvalidRequest
from market.models import Dataset, Listing, Participant
from market.paging import MAX_LIMIT, InvalidCursor, Page, decode_cursor, encode_cursor

Sort = Literal["recency", "price", "price_desc", "quality"]
TRIGRAM = 3
# Up to this many text matches the query starts from them (see _fts_condition).
FEW_MATCHES = 2_000

_fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))


@dataclass(frozen=True)
class ListingFilter:
    """Documented filters of GET /listings (each narrows; none given: every open listing)."""

    status: str | None = "open"
    instrument: str | None = None
    data_class: str | None = None
    min_quality: int | None = None
    mine: bool = False
    q: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    min_k: int | None = None
    min_price_yen: int | None = None
    max_price_yen: int | None = None
    update_frequency: str | None = None
    seller_kind: str | None = None


@dataclass(frozen=True)
class Order:
    """A sort: its key column, direction, and the type a cursor stores the key as."""

    key: Any
    descending: bool
    kind: type


ORDERS: dict[str, Order] = {
    "recency": Order(col(Listing.created_at), True, datetime),
    "price": Order(col(Listing.price_yen), False, int),
    "price_desc": Order(col(Listing.price_yen), True, int),
    "quality": Order(col(Dataset.quality_score), True, int),
}


def listing_rows(
    *,
    session: Session,
    viewer: Participant,
    where: ListingFilter,
    sort: str = "recency",
    cursor: str | None = None,
    limit: int = 100,
) -> Page[Any]:
    """One page of rows of `listing_columns` matching the filter, in the sort's order."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}")
    order = ORDERS[sort]
    conditions = _conditions(session=session, viewer=viewer, where=where)
    query = joined(*listing_columns())
    for condition in conditions:
        query = query.where(condition)
    keys = (order.key, col(Listing.id))
    if cursor is not None:
        query = query.where(_after(keys, _decode(cursor, sort, order), order.descending))
    direction = [key.desc() if order.descending else key.asc() for key in keys]
    rows = list(session.execute(query.order_by(*direction).limit(limit + 1)))
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([sort, getattr(last, order.key.key), last.id])
    return Page(items, next_cursor)


def _conditions(*, session: Session, viewer: Participant, where: ListingFilter) -> list[Any]:
    conditions: list[Any] = []
    equals = (
        (Listing.status, where.status),
        (Listing.instrument, where.instrument),
        (Dataset.data_class, where.data_class),
        (Participant.kind, where.seller_kind),
        (CatalogEntry.update_frequency, where.update_frequency),
    )
    conditions += [col(column_) == value for column_, value in equals if value is not None]
    at_least = (
        (Dataset.quality_score, where.min_quality),
        (Dataset.privacy_k, where.min_k),
        (Listing.price_yen, where.min_price_yen),
    )
    conditions += [col(column_) >= value for column_, value in at_least if value is not None]
    if where.max_price_yen is not None:
        conditions.append(col(Listing.price_yen) <= where.max_price_yen)
    if where.mine:
        conditions.append(col(Listing.seller_id) == viewer.id)
    for tag in where.tags:
        pattern = _like_pattern(tags_text([tag]))
        conditions.append(col(CatalogEntry.tags_text).like(pattern, escape="\\"))
    return conditions + _text_conditions(session=session, q=where.q)


def _text_conditions(*, session: Session, q: str | None) -> list[Any]:
    terms = search_terms(q)
    sqlite = session.get_bind().dialect.name == "sqlite"
    indexed = [term for term in terms if sqlite and len(term) >= TRIGRAM]
    conditions: list[Any] = [
        col(CatalogEntry.search_text).like(_like_pattern(term), escape="\\")
        for term in terms
        if term not in indexed
    ]
    if indexed:
        conditions.append(_fts_condition(session, indexed))
    return conditions


def _fts_condition(session: Session, terms: list[str]) -> Any:
    """Listings whose entry's text holds every term, found in the FTS5 trigram index.

    All terms go into one MATCH (`"a" AND "b"`), so the index intersects them. When few entries
    match, the ids of their listings are looked up first (through the listing's dataset index)
    and the page is chosen among those ids, so no plan has to test each open listing against the
    full-text index; a common term instead walks the listings in sort order and meets the page's
    end early.
    """
    expression = " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)
    matching = select(_fts.c.rowid).where(_fts.c[FTS_TABLE].op("MATCH")(expression))
    few = session.execute(matching.limit(FEW_MATCHES + 1)).scalars().all()
    if len(few) > FEW_MATCHES:
        return col(CatalogEntry.seq).in_(matching)
    datasets = select(col(CatalogEntry.dataset_id)).where(col(CatalogEntry.seq).in_(few))
    listings = select(col(Listing.id)).where(col(Listing.dataset_id).in_(datasets))
    return col(Listing.id).in_(session.execute(listings).scalars().all())


def _like_pattern(text: str) -> str:
    """A LIKE pattern (escape character \\) matching `text` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _decode(cursor: str, sort: str, order: Order) -> list[Any]:
    named = decode_cursor(cursor, (str, str, str))[0]
    if named != sort:
        raise InvalidCursor(
            f"this cursor continues a list sorted by {named}; pass sort={named} with it, or "
            "start again without a cursor"
        )
    _, key, listing_id = decode_cursor(cursor, (str, order.kind, str))
    return [key, listing_id]


def _after(keys: tuple[Any, Any], values: list[Any], descending: bool) -> Any:
    """Rows after the cursor's row in the sort order."""
    if descending:
        return tuple_(*keys) < tuple_(*values)
    return tuple_(*keys) > tuple_(*values)
