"""Orphaned blobs: stored objects no row points to, left by a write killed before its commit.

Every writer stores its blob before it commits the row that names it (so a row never names a
missing blob), and deletes the blob if the commit fails; a process killed in between leaves the
blob behind. The sweep removes such blobs once they are older than a grace period, which covers
any write still in flight. An object is kept when any entry of `REFERRERS` names it, and ids of
a shape no referrer produces are never touched: a new kind of stored object is added to
`REFERRERS` (table, id column, id prefix) before it is stored.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlmodel import SQLModel

import market.models  # noqa: F401  (every table, so REFERRERS find theirs in the metadata)
from market.storage import EncryptedFolderStore, StoredObject

log = logging.getLogger("datamarket.storage")


@dataclass(frozen=True)
class Referrer:
    """A table column whose values, behind `prefix`, are ids of stored objects."""

    table: str
    column: str
    prefix: str = ""


REFERRERS = (
    Referrer("dataset", "id"),  # the dataset's CSV (upload or anonymization output)
    Referrer("dataset", "id", "method-"),  # the sealed 加工方法等情報 of an anonymized dataset
    Referrer("personalrecord", "id"),  # a person's record in their PDS
    Referrer("datasetrevision", "id", "revision-"),  # a dataset's later revision
)
GENERATED_ID = re.compile(r"[0-9a-f]{32}")  # market.models.new_id
BATCH = 500


@dataclass
class Sweep:
    """What a sweep found and did."""

    removed: list[str] = field(default_factory=list)
    kept_young: int = 0
    kept_unknown: int = 0
    referenced: int = 0
    temporaries_removed: int = 0


def sweep_orphans(
    *,
    db: DbEngine,
    store: EncryptedFolderStore,
    grace: timedelta,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Sweep:
    """Remove blobs older than `grace` that no row names, and stale temporary files."""
    cutoff = (now or datetime.now(UTC)) - grace
    sweep = Sweep()
    candidates: list[StoredObject] = []
    for stored in store.objects():
        if stored.modified_at > cutoff:
            sweep.kept_young += 1
        elif not _claimable(stored.object_id):
            sweep.kept_unknown += 1
        else:
            candidates.append(stored)
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start : start + BATCH]
        named = referenced_ids(db, [s.object_id for s in batch])
        for stored in batch:
            if stored.object_id in named:
                sweep.referenced += 1
                continue
            sweep.removed.append(stored.object_id)
            if not dry_run:
                store.delete(stored.object_id)
    for temporary in store.temporaries():
        if temporary.modified_at <= cutoff:
            sweep.temporaries_removed += 1
            if not dry_run:
                temporary.path.unlink(missing_ok=True)
    if sweep.removed and not dry_run:
        log.info("removed %d orphaned stored objects", len(sweep.removed))
    return sweep


def referenced_ids(db: DbEngine, object_ids: Iterable[str]) -> set[str]:
    """Those of `object_ids` that some row of a `REFERRERS` table names."""
    wanted = list(object_ids)
    found: set[str] = set()
    with db.connect() as connection:
        for referrer in REFERRERS:
            table = SQLModel.metadata.tables.get(referrer.table)
            if table is None:
                continue  # that feature is not part of this build, so it stored nothing
            keys = [i.removeprefix(referrer.prefix) for i in wanted if _names(referrer, i)]
            if not keys:
                continue
            column = table.c[referrer.column]
            rows = connection.execute(select(column).where(column.in_(keys)))
            found.update(f"{referrer.prefix}{value}" for (value,) in rows)
    return found


def _names(referrer: Referrer, object_id: str) -> bool:
    """Whether `object_id` has the shape of the ids `referrer`'s column produces."""
    return object_id.startswith(referrer.prefix) and bool(
        GENERATED_ID.fullmatch(object_id.removeprefix(referrer.prefix))
    )


def _claimable(object_id: str) -> bool:
    """Whether some referrer could name `object_id`; others are never removed."""
    return any(_names(referrer, object_id) for referrer in REFERRERS)
