"""Finding listings: text search, filters, sort orders and keyset pages.

A page is chosen on the listing cards (market/catalog/tables.py: one row of sort and filter keys
per listing, kept by triggers), walking the index of the sort in order, and only the chosen
listings are then read in full. docs/catalog.md says how each kind of request is served.

Text search is substring matching of every whitespace-separated term (AND), on the normalized
text of the catalog entry (market/catalog/indexing.py), and gives the same rows on both databases:

- SQLite: a term of three characters or more is looked up in the FTS5 trigram index
  (`catalog_search MATCH '"term"'`, a phrase of the term's trigrams: a substring match). A
  shorter term has no trigram (MATCH would find nothing for 東京 or 血): it is looked up in the
  index of one- and two-character grams (`catalog_grams`, market/catalog/grams.py).
- PostgreSQL: `search_text LIKE '%term%'`, which the pg_trgm GIN index serves for terms of
  three characters or more and the GIN index of `catalog_grams(search_text)` (migration 0015)
  for shorter ones. The text is already case-folded, so LIKE is the case-insensitive match
  (ILIKE would fold once more, with the database's locale rather than Python's rules).

Every sort ends with the listing id, so equal keys have one order on both databases, and a page
continues from an opaque cursor holding the last row's keys: rows inserted meanwhile never shift
what the next page holds.
"""

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    ARRAY,
    Integer,
    Text,
    any_,
    bindparam,
    column,
    func,
    literal,
    select,
    table,
    tuple_,
)
from sqlalchemy.engine import URL
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op
from sqlmodel import Session, col

from market.catalog.grams import match_expression
from market.catalog.indexing import search_terms, tags_text
from market.catalog.tables import FTS_TABLE, GRAMS_TABLE, listing_cards
from market.catalog.views import joined, listing_columns
from market.errors import InvalidRequest
from market.models import Listing, Participant
from market.paging import MAX_LIMIT, InvalidCursor, Page, decode_cursor, encode_cursor

Sort = Literal["recency", "price", "price_desc", "quality"]
# What a cursor's keys can be: a listing id, and an integer key a 64-bit column holds.
LISTING_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BIGINT_BOUND = 2**63
TRIGRAM = 3
# Up to this many text matches a page is chosen among them (see _text_condition).
FEW_MATCHES = 2_000

_fts = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
_grams = table(GRAMS_TABLE, column("rowid"), column(GRAMS_TABLE))
_card = listing_cards.c
_entry = table("catalog_entry", column("seq"), column("search_text"))
_NO_INDEX: custom_op[Any] = custom_op("+")


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
    """A sort: its key column on the listing card, direction, and the type a cursor stores."""

    key: Any
    descending: bool
    kind: type


ORDERS: dict[str, Order] = {
    "recency": Order(_card.created_at, True, datetime),
    "price": Order(_card.price_yen, False, int),
    "price_desc": Order(_card.price_yen, True, int),
    "quality": Order(_card.quality_score, True, int),
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
    """One page of rows of `listing_columns` matching the filter, in the sort's order.

    The page's listings are chosen on the listing cards alone (one index walk in sort order, or
    a sort of the few text matches), and only those are then read in full.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}")
    order = ORDERS[sort]
    text = _text_condition(session=session, q=where.q)
    sqlite = session.get_bind().dialect.name == "sqlite"
    few = text is not None and text.few
    conditions = _conditions(viewer=viewer, where=where, walk=not few, sqlite=sqlite)
    keys: tuple[Any, Any] = (order.key, _card.listing_id)
    if text is not None and few:
        # The few matches are set apart first (MATERIALIZED), so neither planner walks every
        # open listing in sort order testing each against them.
        matches = (
            select(*keys)
            .where(_among(_card.entry_seq, text.entries, sqlite=sqlite), *conditions)
            .cte("matches")
            .prefix_with("MATERIALIZED")
        )
        keys = (matches.c[order.key.name], matches.c.listing_id)
        conditions = []
    elif text is not None:
        conditions.append(text.condition)
    query = select(*keys).where(*conditions)
    if cursor is not None:
        query = query.where(_after(keys, _decode(cursor, sort, order), order.descending))
    direction = [key.desc() if order.descending else key.asc() for key in keys]
    # Core execution: plain rows, without the ORM's result machinery.
    chosen = session.connection().execute(query.order_by(*direction).limit(limit + 1)).all()
    next_cursor = None
    if len(chosen) > limit:
        chosen = chosen[:limit]
        next_cursor = encode_cursor([sort, *chosen[-1]])
    chosen_ids = [listing_id for _, listing_id in chosen]
    return Page(_full_rows(session, chosen_ids, sqlite=sqlite), next_cursor)


def _among(column_: Any, values: list[int], *, sqlite: bool) -> Any:
    """`column_` is one of `values`, passed as one array parameter (up to FEW_MATCHES of them:
    one bound value each would cost PostgreSQL milliseconds of planning)."""
    if sqlite:
        listed = func.json_each(json.dumps(values)).table_valued("value")
        return column_.in_(select(listed.c.value))
    return column_ == any_(literal(values, ARRAY(Integer)))


def _full_rows(session: Session, listing_ids: list[str], *, sqlite: bool) -> list[Any]:
    """The rows of `listing_columns` of these listings, in the order given."""
    if not listing_ids:
        return []
    ids = json.dumps(listing_ids) if sqlite else listing_ids
    rows = session.connection().execute(_full_rows_query(sqlite), {"ids": ids}).all()
    # By position (the listing id comes first): a Row's attribute costs ten times more.
    by_id = {row[0]: row for row in rows}
    # A listing deleted between the two statements is left out of the page.
    return [by_id[listing_id] for listing_id in listing_ids if listing_id in by_id]


@cache
def _full_rows_query(sqlite: bool) -> Any:
    """Built once per dialect: the statement is the same for every page, and the ids are one
    array parameter (as in `_among`), not a hundred expanded into it at each execution."""
    among: Any
    if sqlite:
        listed = func.json_each(bindparam("ids", type_=Text)).table_valued("value")
        among = col(Listing.id).in_(select(listed.c.value))
    else:
        among = col(Listing.id) == any_(bindparam("ids", type_=ARRAY(Text)))
    return joined(*listing_columns()).where(among)


def _conditions(
    *, viewer: Participant, where: ListingFilter, walk: bool, sqlite: bool
) -> list[Any]:
    """The filters, on the card's columns.

    SQLite plans without statistics and would serve `quality_score >= 80` or `price_yen <= x`
    from another sort's index, then sort every row found. A unary `+` (SQLite's way to say
    "no index for this term") leaves it one choice: the walk of the sort's own index (the status
    equality is its first column), or the entry index when few text matches are looked up.
    A seller's own listings (`mine`) keep their index: one seller's listings are few.
    """

    def plain(column_: Any) -> Any:
        return _plain(column_, sqlite=sqlite)

    equals = (
        (_card.status, where.status),
        (_card.instrument, where.instrument),
        (_card.data_class, where.data_class),
        (_card.seller_kind, where.seller_kind),
        (_card.update_frequency, where.update_frequency),
        (_card.seller_id, viewer.id if where.mine else None),
    )
    at_least = (
        (_card.quality_score, where.min_quality),
        (_card.privacy_k, where.min_k),
        (_card.price_yen, where.min_price_yen),
    )
    # The walk seeks on the status (every sort index starts with it).
    indexed = ("status", "seller_id") if walk else ("seller_id",)
    conditions = [
        (column_ if column_.name in indexed else plain(column_)) == value
        for column_, value in equals
        if value is not None
    ]
    conditions += [plain(column_) >= value for column_, value in at_least if value is not None]
    if where.max_price_yen is not None:
        conditions.append(plain(_card.price_yen) <= where.max_price_yen)
    for tag in where.tags:
        conditions.append(_card.tags_text.like(_like_pattern(tags_text([tag])), escape="\\"))
    return conditions


def _plain(column_: Any, *, sqlite: bool) -> Any:
    """`column_` as a term SQLite serves from no index (a unary `+`); unchanged elsewhere."""
    if not sqlite:
        return column_
    return UnaryExpression(column_, operator=_NO_INDEX, type_=column_.type)


@dataclass(frozen=True)
class TextMatch:
    """Where the text of a query is found: `entries` when few, else a per-row `condition`."""

    few: bool
    entries: list[int] = field(default_factory=list)
    condition: Any = None


def _text_condition(*, session: Session, q: str | None) -> TextMatch | None:
    """The catalog entries holding every term of `q`, or None without terms.

    The text index is asked first for the matching entries (at most FEW_MATCHES + 1 of them):
    when there are no more, the page is chosen among their cards (an index lookup each, then a
    sort of at most FEW_MATCHES rows). A commoner text is matched row by row while walking the
    cards in sort order, which meets the page's end after a few thousand rows at most.
    """
    terms = search_terms(q)
    if not terms:
        return None
    likes = [_entry.c.search_text.like(_like_pattern(term), escape="\\") for term in terms]
    walk = select(_entry.c.seq).where(_entry.c.seq == _card.entry_seq, *likes)
    common = COMMON_TEXTS.key(session, terms)
    if not COMMON_TEXTS.holds(common):
        found = _indexed_matches(session, terms, likes)
        if len(found) <= FEW_MATCHES:
            return TextMatch(few=True, entries=found)
        COMMON_TEXTS.note(common)
    return TextMatch(few=False, condition=walk.exists())


class CommonTexts:
    """Texts found in more than FEW_MATCHES entries, remembered for `seconds` per database, so
    their next searches walk the cards at once instead of asking the text index again (on
    PostgreSQL that count of a common term is most of the search: 9 ms of 15). Only "common" is
    remembered, and a walk is exact whatever the count: a text that became rare meanwhile costs
    a longer walk until its note expires, never a wrong page.
    """

    def __init__(self, seconds: float = 60.0, size: int = 1_024) -> None:
        self.seconds = seconds
        self.size = size
        self._noted: dict[tuple[URL, tuple[str, ...]], float] = {}

    @staticmethod
    def key(session: Session, terms: list[str]) -> tuple[URL, tuple[str, ...]]:
        return session.get_bind().engine.url, tuple(sorted(terms))

    def holds(self, key: tuple[URL, tuple[str, ...]]) -> bool:
        expires = self._noted.get(key)
        return expires is not None and expires > time.monotonic()

    def note(self, key: tuple[URL, tuple[str, ...]]) -> None:
        if len(self._noted) >= self.size:
            self._noted.clear()  # rare: a note only saves time
        self._noted[key] = time.monotonic() + self.seconds

    def clear(self) -> None:
        self._noted.clear()


COMMON_TEXTS = CommonTexts()


def _indexed_matches(session: Session, terms: list[str], likes: list[Any]) -> list[int]:
    """Up to FEW_MATCHES + 1 entries holding every term, found through the text indexes."""
    if session.get_bind().dialect.name == "sqlite":
        matching = _sqlite_matches(terms)
    else:
        short_terms = [term for term in terms if len(term) < TRIGRAM]
        matching = select(_entry.c.seq).where(*likes)
        if short_terms:
            grams = func.catalog_grams(_entry.c.search_text)
            matching = matching.where(
                grams.op("@>", is_comparison=True)(literal(short_terms, ARRAY(Text)))
            )
    return list(session.connection().execute(matching.limit(FEW_MATCHES + 1)).scalars())


def _sqlite_matches(terms: list[str]) -> Any:
    """The entries holding every term, on SQLite's two FTS5 indexes.

    All trigram terms go into one MATCH (`"a" AND "b"`), all shorter terms into one MATCH of the
    gram index, so each index intersects its own terms. With both, the trigram index is read in
    rowid order and stops at the LIMIT, and the gram index is read once as a set (the unary `+`
    keeps SQLite from asking it again for every row). Both answers are exact (a phrase of
    consecutive trigrams; a token per distinct gram), so the entries themselves are not read.
    """
    long_terms = [term for term in terms if len(term) >= TRIGRAM]
    short_terms = [term for term in terms if len(term) < TRIGRAM]
    phrases = " AND ".join('"' + term.replace('"', '""') + '"' for term in long_terms)
    by_trigrams = select(_fts.c.rowid.label("seq")).where(_fts.c[FTS_TABLE].op("MATCH")(phrases))
    by_grams = select(_grams.c.rowid.label("seq")).where(
        _grams.c[GRAMS_TABLE].op("MATCH")(match_expression(short_terms))
    )
    if not short_terms:
        return by_trigrams
    if not long_terms:
        return by_grams
    return by_trigrams.where(_plain(_fts.c.rowid, sqlite=True).in_(by_grams))


def _like_pattern(text: str) -> str:
    """A LIKE pattern (escape character \\) matching `text` anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _decode(cursor: str, sort: str, order: Order) -> list[Any]:
    """The sort key and listing id in a cursor; InvalidCursor unless this market could have
    issued it (a known sort, a 64-bit key, a listing id), so a forged one never reaches SQL."""
    named = decode_cursor(cursor, (str, str, str))[0]
    if named not in ORDERS:
        raise _not_issued()
    if named != sort:
        raise InvalidCursor(
            f"this cursor continues a list sorted by {named}; pass sort={named} with it, or "
            "start again without a cursor"
        )
    try:
        _, key, listing_id = decode_cursor(cursor, (str, order.kind, str))
    except OverflowError:  # Infinity is valid to Python's JSON reader, and no integer
        raise _not_issued() from None
    out_of_range = isinstance(key, int) and not -BIGINT_BOUND <= key < BIGINT_BOUND
    if out_of_range or not LISTING_ID.fullmatch(listing_id):
        raise _not_issued()
    return [key, listing_id]


def _not_issued() -> InvalidCursor:
    return InvalidCursor(
        "cursor is not one this market issued: pass the value of the previous page's `next` "
        "link (or omit it for the first page)"
    )


def _after(keys: tuple[Any, Any], values: list[Any], descending: bool) -> Any:
    """Rows after the cursor's row in the sort order."""
    if descending:
        return tuple_(*keys) < tuple_(*values)
    return tuple_(*keys) > tuple_(*values)
