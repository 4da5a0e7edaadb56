"""Keyset pagination: every list is newest first and continues from an opaque cursor.

A cursor encodes the sort key of the last row served (its time and id, or a sequence number), so
a page that continues from it is stable under inserts: rows added since are newer and never shift
what the next page holds. Clients treat cursors as opaque strings.
"""

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import tuple_
from sqlmodel import Session

from market.errors import InvalidRequest, NotFound

T = TypeVar("T")
MAX_LIMIT = 500
# The longest text a cursor key can be (ids are 32 characters, names and keys far shorter).
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class InvalidCursor(NotFound):
    """A cursor the market did not issue names no page (like an unknown id: 404)."""

    title = "Invalid cursor"


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The sort key inside a cursor, converted back to the column types `kinds`."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong shape")
        return [_key(value, kind) for value, kind in zip(raw, kinds, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(
            "cursor is not one this market issued: pass the value of the previous page's "
            "`next` link (or omit it for the first page)"
        ) from None


def _key(value: Any, kind: type) -> Any:
    """One cursor key as its column's type; ValueError for one no column could hold (a forged
    cursor must be refused here, not fail in the database): an integer beyond 64 bits, a number
    that is not finite, text with a NUL or longer than any key."""
    if kind is datetime:
        return datetime.fromisoformat(value)
    key = kind(value)
    if isinstance(key, int) and not -(2**63) <= key < 2**63:
        raise ValueError("integer key out of range")
    if isinstance(key, float) and not math.isfinite(key):
        raise ValueError("key is not finite")
    if isinstance(key, str) and ("\x00" in key or len(key) > MAX_KEY_LENGTH):
        raise ValueError("text key out of range")
    return key


def fetch_page(
    *,
    session: Session,
    query: Any,
    keys: Sequence[Any],
    kinds: Sequence[type],
    cursor: str | None,
    limit: int,
) -> Page[Any]:
    """One page of `query`, newest first by `keys` (columns that together are unique)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be from 1 to {MAX_LIMIT}")
    if cursor is not None:
        query = query.where(tuple_(*keys) < tuple_(*decode_cursor(cursor, kinds)))
    rows = list(session.exec(query.order_by(*(key.desc() for key in keys)).limit(limit + 1)))
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([_key_value(last, key) for key in keys])
    return Page(items, next_cursor)


def _key_value(row: Any, key: Any) -> Any:
    entity = row[0] if isinstance(row, tuple) else row
    if hasattr(row, "_mapping"):
        entity = row[0]
    return getattr(entity, key.key)
