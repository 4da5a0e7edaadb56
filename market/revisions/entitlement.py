"""Which revisions a licence covers, and the duplicate-licence rule applied per revision.

A licence is of the revision current when it was bought (`Licence.revision`) and covers, by its
listing's `covers`:
- "revision": that revision only;
- "history": that revision and every earlier one;
- "updates": that revision and every later one published while the licence is live.
A buyer holding a live licence that covers a dataset's current revision for a purpose cannot buy
it again for that purpose (it would pay twice); once a revision it does not cover is published,
it may buy that one.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from market.errors import Forbidden, NotFound
from market.models import Dataset, Licence, Participant, utcnow
from market.revisions.tables import DatasetRevision
from market.trading.licensing import DuplicateLicence, live_licence

COVERS = ("revision", "history", "updates")


class NoSuchRevision(NotFound):
    title = "No such revision"


class RevisionNotCovered(Forbidden):
    title = "Revision not covered by your licence"


def current_revision(*, session: Session, dataset_id: str) -> int:
    """The number of a dataset's newest revision (1 until a new one is uploaded).

    Every trade asks, so this is one prepared statement on the session's connection; a revision
    the session added or deleted unflushed is flushed first, as the ORM's autoflush would.
    """
    if any(isinstance(pending, DatasetRevision) for pending in (*session.new, *session.deleted)):
        session.flush()
    newest = (
        session.connection().execute(_current_statement(), {"dataset_id": dataset_id}).scalar_one()
    )
    return int(newest or 1)


@cache
def _current_statement() -> Select[Any]:
    """`current_revision`'s statement, bound to `dataset_id`."""
    return sa_select(func.max(col(DatasetRevision.number))).where(
        col(DatasetRevision.dataset_id) == bindparam("dataset_id")
    )


def covers(licence: Licence, *, number: int, published_at: datetime) -> bool:
    """Whether a licence entitles its holder to revision `number` (published at `published_at`)."""
    if number == licence.revision:
        return True
    if licence.covers == "history":
        return number < licence.revision
    if licence.covers == "updates":
        ends = licence.expires_at
        return number > licence.revision and (ends is None or published_at < ends)
    return False


def covering(licences: Sequence[Licence], revision: DatasetRevision) -> list[Licence]:
    """The licences, in their given order, that entitle their holder to `revision`."""
    return [
        licence
        for licence in licences
        if covers(licence, number=revision.number, published_at=revision.created_at)
    ]


def newest_covered(
    licences: Sequence[Licence], revisions: Sequence[DatasetRevision]
) -> DatasetRevision | None:
    """The newest of `revisions` that any of the licences covers (None: no licence covers any)."""
    for revision in sorted(revisions, key=lambda r: r.number, reverse=True):
        if covering(licences, revision):
            return revision
    return None


def pick_revision(revisions: Sequence[DatasetRevision], number: int) -> DatasetRevision:
    """Revision `number` of a dataset's stored revisions; NoSuchRevision names the ones there are."""
    for revision in revisions:
        if revision.number == number:
            return revision
    newest = max(r.number for r in revisions)
    raise NoSuchRevision(
        f"dataset {revisions[0].dataset_id} has no revision {number}; its revisions are 1 to "
        f"{newest} (GET /datasets/{revisions[0].dataset_id}/revisions)"
    )


def require_covered(
    licences: Sequence[Licence], revisions: Sequence[DatasetRevision], revision: DatasetRevision
) -> Licence:
    """The oldest of the licences covering `revision`; RevisionNotCovered says which are covered."""
    holders = covering(licences, revision)
    if holders:
        return holders[0]
    covered = [r.number for r in revisions if covering(licences, r)]
    held = ", ".join(str(n) for n in covered) or "none"
    raise RevisionNotCovered(
        f"your live licences of dataset {revision.dataset_id} cover revisions {held}, not "
        f"revision {revision.number}; bid for the dataset to obtain a licence of its current "
        "revision, or download one your licences cover"
    )


def live_licences(
    *, session: Session, buyer_id: str, dataset_id: str, now: datetime
) -> list[Licence]:
    """A buyer's live licences of one dataset, oldest first (ties by id)."""
    return list(
        session.exec(
            select(Licence)
            .where(
                Licence.dataset_id == dataset_id,
                Licence.buyer_id == buyer_id,
                live_licence(now),
            )
            .order_by(col(Licence.created_at), col(Licence.id))
        ).all()
    )


def _covers_current(licence: Licence, current: int) -> bool:
    return _covers(licence.revision, licence.covers, current)


def _covers(revision: int, covers: str, current: int) -> bool:
    # A live "updates" licence covers whatever is published while it lives, the newest included.
    return revision == current or (covers == "updates" and current > revision)


def held_datasets(
    *, session: Session, buyer: Participant, instrument: str, purpose: str
) -> frozenset[str]:
    """Datasets of an instrument whose current revision the buyer already licenses for a purpose
    (live licences): a bid for any datasets of the instrument skips them.

    Every bid asks, so this is one Core statement on the session's connection (each live
    licence with its dataset's current revision), not ORM objects.
    """
    rows = session.connection().execute(
        held_statement(), held_parameters(buyer.id, instrument, purpose, utcnow())
    )
    return held_of(rows)


def held_parameters(buyer_id: str, instrument: str, purpose: str, now: datetime) -> dict[str, Any]:
    """The values `held_statement` is bound to."""
    category, _, data_class = instrument.rpartition("/")
    return {
        "buyer_id": buyer_id,
        "purpose": purpose,
        "category": category,
        "data_class": data_class,
        "now": now,
    }


def held_of(rows: Iterable[Sequence[Any]]) -> frozenset[str]:
    """The held datasets among rows of `held_statement` (dataset, revision, covers, newest);
    a row of nulls (an outer join that found no licence) holds none."""
    return frozenset(
        dataset_id
        for dataset_id, revision, covers, newest in rows
        if dataset_id is not None and _covers(revision, covers, newest or 1)
    )


_LICENCE = Licence.__table__  # type: ignore[attr-defined]


@cache
def held_statement() -> Select[Any]:
    """`held_datasets`' statement, built once (building it costs more than running it): each
    live licence's dataset, revision and cover with its dataset's newest revision (`newest`),
    bound to `buyer_id`, `purpose`, `category`, `data_class` and `now`."""
    current = (
        sa_select(func.max(col(DatasetRevision.number)))
        .where(col(DatasetRevision.dataset_id) == col(Licence.dataset_id))
        .scalar_subquery()
        .label("newest")
    )
    return (
        sa_select(col(Licence.dataset_id), col(Licence.revision), col(Licence.covers), current)
        .join(Dataset, col(Dataset.id) == col(Licence.dataset_id))
        .where(
            col(Licence.buyer_id) == bindparam("buyer_id"),
            col(Licence.purpose) == bindparam("purpose"),
            col(Dataset.category) == bindparam("category"),
            col(Dataset.data_class) == bindparam("data_class"),
            live_licence(bindparam("now", type_=_LICENCE.c.expires_at.type)),
        )
    )


def _current_revisions(session: Session, dataset_ids: set[str]) -> dict[str, int]:
    if not dataset_ids:
        return {}
    rows = session.exec(
        select(DatasetRevision.dataset_id, func.max(DatasetRevision.number))
        .where(col(DatasetRevision.dataset_id).in_(dataset_ids))
        .group_by(col(DatasetRevision.dataset_id))
    ).all()
    return {dataset_id: int(number) for dataset_id, number in rows}


def require_no_duplicate_licence(
    *,
    session: Session,
    buyer: Participant,
    dataset_id: str,
    purpose: str,
    min_term_days: int | None,
) -> None:
    """Refuse a bid for a licence the buyer holds: same dataset, purpose and current revision."""
    held = session.exec(
        select(Licence).where(
            Licence.buyer_id == buyer.id,
            Licence.dataset_id == dataset_id,
            Licence.purpose == purpose,
            live_licence(utcnow()),
        )
    ).all()
    current = current_revision(session=session, dataset_id=dataset_id)
    # A bid that requires a term differs from a held licence that ends; a perpetual one covers all.
    duplicates = [
        lic
        for lic in held
        if (lic.expires_at is None or min_term_days is None) and _covers_current(lic, current)
    ]
    if duplicates:
        raise DuplicateLicence(
            f"you already hold licence {duplicates[0].id} of dataset {dataset_id} (revision "
            f"{current}) for purpose {purpose}; download it (GET /datasets/{dataset_id}/download) "
            "instead of buying again"
        )
