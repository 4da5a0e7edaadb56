"""Personal records: validated against their category, sealed in the blob store, listed back.

Contents never enter the database: a row holds the category and size, the blob its JSON.
"""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from market.events import record_event
from market.models import new_id
from market.personal.categories import RecordInvalid, UnknownCategory, category, validate_record
from market.personal.errors import RecordRejected
from market.personal.tables import PersonalRecord
from market.storage import BlobStore

PORTABLE_FORMAT = "datamarket.pds/1"
MAX_RECORDS_PER_IMPORT = 10_000


@dataclass(frozen=True)
class PreparedRecord:
    id: str
    category: str
    sensitive: bool
    blob: bytes


def prepare(items: list[tuple[str, dict[str, Any]]]) -> list[PreparedRecord]:
    """Validate every record before anything is written; one bad record rejects the batch."""
    if not items:
        raise RecordRejected("no records: send at least one")
    if len(items) > MAX_RECORDS_PER_IMPORT:
        raise RecordRejected(
            f"at most {MAX_RECORDS_PER_IMPORT} records per request; split the file"
        )
    prepared = []
    for index, (code, data) in enumerate(items):
        try:
            canonical = validate_record(code, data)
        except (UnknownCategory, RecordInvalid) as exc:
            where = f"record {index + 1}: " if len(items) > 1 else ""
            raise RecordRejected(where + str(exc)) from None
        blob = json.dumps({"category": code, "data": canonical}, ensure_ascii=False).encode()
        prepared.append(PreparedRecord(new_id(), code, category(code).sensitive, blob))
    return prepared


def parse_csv(code: str, raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a CSV whose header names the category's fields (UTF-8, UTF-8 with BOM or cp932)."""
    try:
        category(code)
    except UnknownCategory as exc:
        raise RecordRejected(str(exc)) from None
    for encoding in ("utf-8-sig", "cp932"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RecordRejected("the CSV is neither UTF-8 nor Shift_JIS (cp932); save it as UTF-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        if None in row:
            raise RecordRejected(f"CSV line {reader.line_num} has more cells than the header")
        rows.append((code, {k: v for k, v in row.items() if k and v not in (None, "")}))
    return rows


def parse_portable(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Records of a portable JSON document (`format`: datamarket.pds/1)."""
    if document.get("format") != PORTABLE_FORMAT:
        raise RecordRejected(f'a portable document declares "format": "{PORTABLE_FORMAT}"')
    records = document.get("records")
    if not isinstance(records, list):
        raise RecordRejected('a portable document holds a list under "records"')
    items = []
    for index, entry in enumerate(records):
        if not isinstance(entry, dict) or not isinstance(entry.get("data"), dict):
            raise RecordRejected(f'record {index + 1} needs "category" and an object "data"')
        items.append((str(entry.get("category")), entry["data"]))
    return items


def store_records(
    *,
    session: Session,
    store: BlobStore,
    person_id: str,
    prepared: list[PreparedRecord],
    source: str,
) -> list[PersonalRecord]:
    """Seal each record into the store and add its row; the caller deletes blobs if the commit fails."""
    rows = []
    for item in prepared:
        store.put(item.id, item.blob)
        row = PersonalRecord(
            id=item.id,
            person_id=person_id,
            category=item.category,
            sensitive=item.sensitive,
            source=source,
            size_bytes=len(item.blob),
        )
        session.add(row)
        rows.append(row)
    session.flush()
    counts: dict[str, int] = {}
    for item in prepared:
        counts[item.category] = counts.get(item.category, 0) + 1
    record_event(session, "PersonalRecordsStored", {"person_id": person_id, "counts": counts})
    return rows


def list_records(
    *, session: Session, person_id: str, category_code: str | None = None, limit: int = 1000
) -> list[PersonalRecord]:
    query = select(PersonalRecord).where(PersonalRecord.person_id == person_id)
    if category_code is not None:
        query = query.where(PersonalRecord.category == category_code)
    order = col(PersonalRecord.created_at).desc()
    return list(session.exec(query.order_by(order, col(PersonalRecord.id)).limit(limit)))


def read_record(*, store: BlobStore, record_id: str) -> tuple[str, dict[str, Any]]:
    """The record's category and data, opened from the store."""
    sealed = json.loads(store.get(record_id))
    return str(sealed["category"]), dict(sealed["data"])


def held_categories(*, session: Session, person_ids: list[str]) -> dict[str, frozenset[str]]:
    """For each person, the categories they hold records in."""
    held: dict[str, set[str]] = {p: set() for p in person_ids}
    if person_ids:
        query = select(PersonalRecord.person_id, PersonalRecord.category).where(
            col(PersonalRecord.person_id).in_(person_ids)
        )
        for person_id, code in session.exec(query.distinct()):
            held[person_id].add(code)
    return {p: frozenset(c) for p, c in held.items()}


def record_ids_of(*, session: Session, person_id: str, categories: list[str]) -> list[str]:
    query = (
        select(PersonalRecord.id)
        .where(PersonalRecord.person_id == person_id)
        .where(col(PersonalRecord.category).in_(categories))
        .order_by(col(PersonalRecord.created_at), col(PersonalRecord.id))
    )
    return list(session.exec(query))
