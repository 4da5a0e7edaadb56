"""Who receives which copy: the seller the stored original, a licence holder its own fingerprint,
of the revision asked for or, by default, the newest one the caller may have."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from market.datasets import get_dataset, require_download_right
from market.errors import Forbidden, NotFound
from market.models import Dataset, Licence, Participant
from market.revisions.entitlement import (
    live_licences,
    newest_covered,
    pick_revision,
    require_covered,
)
from market.revisions.service import stored_revisions
from market.revisions.tables import DatasetRevision
from market.settlement.payments.booking import require_paid


@dataclass(frozen=True)
class Grant:
    """What one download serves: a revision of a dataset, under a licence (None: its seller)."""

    dataset: Dataset
    revision: DatasetRevision
    licence: Licence | None


def is_live(licence: Licence, now: datetime) -> bool:
    return licence.revoked_at is None and (licence.expires_at is None or licence.expires_at > now)


def delivery_grant(
    *,
    session: Session,
    participant: Participant,
    dataset: Dataset,
    number: int | None,
    now: datetime,
) -> Grant:
    """The revision a download serves and the licence whose fingerprint it carries.

    The seller gets revision `number` (default: the newest) as stored. A buyer gets revision
    `number` if one of its live licences covers it (default: the newest any of them covers),
    under the oldest licence covering it, so repeated downloads are identical.
    """
    require_download_right(session=session, participant=participant, dataset=dataset)
    revisions = stored_revisions(session=session, dataset=dataset)
    if participant.id == dataset.seller_id:
        newest = revisions[-1].number
        return Grant(dataset, pick_revision(revisions, newest if number is None else number), None)
    held = live_licences(session=session, buyer_id=participant.id, dataset_id=dataset.id, now=now)
    if not held:
        raise Forbidden(f"you hold no live licence for dataset {dataset.id}")
    if number is None:
        revision = newest_covered(held, revisions)
        if revision is None:
            raise Forbidden(f"your licences of dataset {dataset.id} cover none of its revisions")
    else:
        revision = pick_revision(revisions, number)
    licence = require_covered(held, revisions, revision)
    require_paid(session=session, licence=licence)
    return Grant(dataset, revision, licence)


def require_own_live_licence(
    *, session: Session, participant: Participant, licence_id: str, now: datetime
) -> tuple[Licence, Dataset]:
    """One of the participant's licences, still live, with its dataset; NotFound for anyone
    else's. The dataset's download rule applies as on `GET /datasets/{id}/download`."""
    licence = session.get(Licence, licence_id)
    if licence is None or licence.buyer_id != participant.id:
        raise NotFound(f"you hold no licence {licence_id}")
    if not is_live(licence, now):
        raise Forbidden(
            f"licence {licence_id} has expired or was revoked; its data can no longer be downloaded"
        )
    dataset = get_dataset(session=session, dataset_id=licence.dataset_id)
    require_download_right(session=session, participant=participant, dataset=dataset)
    require_paid(session=session, licence=licence)
    return licence, dataset


def licence_grant(
    *,
    session: Session,
    participant: Participant,
    licence_id: str,
    number: int | None,
    now: datetime,
) -> Grant:
    """Revision `number` (default: the newest the licence covers) under one of the
    participant's own live licences, as a signed download link serves it."""
    licence, dataset = require_own_live_licence(
        session=session, participant=participant, licence_id=licence_id, now=now
    )
    revisions = stored_revisions(session=session, dataset=dataset)
    if number is None:
        revision = newest_covered([licence], revisions)
        if revision is None:
            raise Forbidden(f"licence {licence_id} covers none of dataset {dataset.id}'s revisions")
    else:
        revision = pick_revision(revisions, number)
    require_covered([licence], revisions, revision)
    return Grant(dataset, revision, licence)
