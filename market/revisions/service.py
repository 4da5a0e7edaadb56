"""Revisions as domain functions: publish a new version of a dataset, list them, find one's bytes.

A new revision's file is analysed like an upload (parsed, scanned, scored against the dataset's
own declaration, searched for linkable columns) before any transaction; here it is recorded, the
dataset row takes its facts, the score is weighed with the seller's credibility, and every
licence holder entitled to it hears of it through the outbox (`RevisionPublished`).
"""

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from market.datasets import AnalysedUpload
from market.errors import Conflict, InvalidRequest, NotFound
from market.events import record_event
from market.models import Dataset, Licence, Listing, Participant, utcnow
from market.ratings.record import rescore_dataset, seller_credibility
from market.revisions.entitlement import (
    COVERS,
    covering,
    covers,
    current_revision,
    live_licences,
)
from market.revisions.tables import DatasetRevision
from market.trading.licensing import live_licence
from market.vocabulary import DataClass

MAX_NOTE_CHARS = 1000


def revisable_dataset(*, session: Session, seller: Participant, dataset_id: str) -> Dataset:
    """The seller's own uploaded dataset, which may take a new revision."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or dataset.seller_id != seller.id:
        raise NotFound(f"you have no dataset {dataset_id}")
    if dataset.data_class == DataClass.ANONYMIZED:
        raise InvalidRequest(
            "a new version of 匿名加工情報 comes from an anonymization job: upload a new revision "
            "of the personal source and run the job again"
        )
    return dataset


def add_revision(
    *,
    session: Session,
    seller: Participant,
    dataset_id: str,
    revision_id: str,
    blob_id: str,
    analysed: AnalysedUpload,
    note: str = "",
) -> tuple[DatasetRevision, Dataset]:
    """Record a new revision whose encrypted bytes are stored under `blob_id`."""
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidRequest(f"note must be at most {MAX_NOTE_CHARS:,} characters")
    dataset = revisable_dataset(session=session, seller=seller, dataset_id=dataset_id)
    number = current_revision(session=session, dataset_id=dataset.id)
    if number == 1 and _revision(session, dataset.id, 1) is None:
        session.add(_first_revision(dataset))
    parsed = analysed.parsed
    digest = hashlib.sha256(parsed.data).hexdigest()
    revision = DatasetRevision(
        id=revision_id,
        dataset_id=dataset.id,
        number=number + 1,
        blob_id=blob_id,
        note=note,
        columns=parsed.columns,
        row_count=parsed.row_count,
        size_bytes=len(parsed.data),
        source_encoding=parsed.source_encoding,
        sha256=digest,
        quality_score=analysed.quality_score,
        quality=analysed.quality,
        linkable_columns=list(analysed.linkable_columns),
    )
    dataset.columns = parsed.columns
    dataset.row_count = parsed.row_count
    dataset.size_bytes = len(parsed.data)
    dataset.source_encoding = parsed.source_encoding
    dataset.sha256 = digest
    dataset.content_digest = analysed.content_digest
    dataset.quality = analysed.quality
    dataset.quality_score = analysed.quality_score
    dataset.linkable_columns = list(analysed.linkable_columns)
    rescore_dataset(
        session=session,
        dataset=dataset,
        credibility=seller_credibility(session=session, seller_id=seller.id),
    )
    revision.quality_score, revision.quality = dataset.quality_score, dataset.quality
    session.add_all([revision, dataset])
    for listing in session.exec(
        select(Listing).where(Listing.dataset_id == dataset.id, Listing.status == "open")
    ).all():
        listing.linkable = bool(dataset.linkable_columns)
        session.add(listing)
    session.flush()
    record_event(
        session,
        "DatasetRevised",
        {"dataset_id": dataset.id, "revision": revision.number, "seller_id": seller.id},
    )
    _notify_holders(session, dataset, revision)
    return revision, dataset


def _first_revision(dataset: Dataset) -> DatasetRevision:
    """Revision 1 as the dataset row describes it, before a new revision replaces those facts."""
    return DatasetRevision(
        dataset_id=dataset.id,
        number=1,
        blob_id=dataset.id,
        columns=list(dataset.columns),
        row_count=dataset.row_count,
        size_bytes=dataset.size_bytes,
        source_encoding=dataset.source_encoding,
        sha256=dataset.sha256,
        quality_score=dataset.quality_score,
        quality=dataset.quality,
        linkable_columns=list(dataset.linkable_columns),
        created_at=dataset.created_at,
    )


def _notify_holders(session: Session, dataset: Dataset, revision: DatasetRevision) -> None:
    """A `RevisionPublished` event per live licence entitled to the new revision."""
    live = session.exec(
        select(Licence)
        .where(Licence.dataset_id == dataset.id, live_licence(utcnow()))
        .order_by(col(Licence.created_at), col(Licence.id))
    ).all()
    for licence in live:
        if covers(licence, number=revision.number, published_at=revision.created_at):
            record_event(
                session,
                "RevisionPublished",
                {
                    "dataset_id": dataset.id,
                    "revision": revision.number,
                    "licence_id": licence.id,
                    "buyer_id": licence.buyer_id,
                },
            )


def _revision(session: Session, dataset_id: str, number: int) -> DatasetRevision | None:
    return session.exec(
        select(DatasetRevision).where(
            DatasetRevision.dataset_id == dataset_id, DatasetRevision.number == number
        )
    ).first()


def stored_revisions(*, session: Session, dataset: Dataset) -> list[DatasetRevision]:
    """A dataset's revisions, oldest first (revision 1 from the dataset row until it has others).

    Every revision's bytes stay stored, immutable, under its `blob_id`: revision 1 under the
    dataset's id, each later one under "revision-<id>".
    """
    rows = session.exec(
        select(DatasetRevision)
        .where(DatasetRevision.dataset_id == dataset.id)
        .order_by(col(DatasetRevision.number))
    ).all()
    return list(rows) or [_first_revision(dataset)]


def current_blob_id(*, session: Session, dataset: Dataset) -> str:
    """Where the dataset's newest revision's bytes are stored."""
    return stored_revisions(session=session, dataset=dataset)[-1].blob_id


def revisions_of(*, session: Session, dataset: Dataset) -> list[dict[str, Any]]:
    """A dataset's revisions as shown, oldest first."""
    return [view(r) for r in stored_revisions(session=session, dataset=dataset)]


def revisions_for(
    *, session: Session, viewer: Participant, dataset: Dataset, now: datetime
) -> list[dict[str, Any]]:
    """A dataset's revisions as `viewer` sees them, oldest first: each with the viewer's live
    licences that cover it, and whether the viewer may download it (its seller: every one)."""
    seller = viewer.id == dataset.seller_id
    held = (
        []
        if seller
        else live_licences(session=session, buyer_id=viewer.id, dataset_id=dataset.id, now=now)
    )
    shown = []
    for revision in stored_revisions(session=session, dataset=dataset):
        yours = [licence.id for licence in covering(held, revision)]
        shown.append(
            {
                "dataset_id": dataset.id,
                **view(revision),
                "downloadable": seller or bool(yours),
                "your_licences": yours,
            }
        )
    return shown


def view(revision: DatasetRevision) -> dict[str, Any]:
    """What anyone who may see the dataset sees of one revision."""
    return {
        "number": revision.number,
        "note": revision.note,
        "columns": revision.columns,
        "row_count": revision.row_count,
        "size_bytes": revision.size_bytes,
        "sha256": revision.sha256,
        "quality_score": revision.quality_score,
        "linkable": bool(revision.linkable_columns),
        "linkable_columns": revision.linkable_columns,
        "created_at": revision.created_at,
    }


def set_coverage(*, session: Session, seller: Participant, listing_id: str, covers: str) -> Listing:
    """State which revisions a listing's licences cover, before it sells any."""
    if covers not in COVERS:
        raise InvalidRequest(f"covers must be one of {', '.join(COVERS)}")
    listing = session.get(Listing, listing_id)
    if listing is None or listing.seller_id != seller.id:
        raise NotFound(f"you have no listing {listing_id}")
    if listing.status != "open":
        raise Conflict(f"listing {listing_id} is {listing.status}; its terms no longer change")
    if listing.licences_sold:
        raise Conflict(
            f"listing {listing_id} has sold licences under its coverage; list the data again to "
            "offer other coverage"
        )
    listing.covers = covers
    session.add(listing)
    record_event(session, "ListingCoverageSet", {"listing_id": listing.id, "covers": covers})
    return listing
