"""Who receives which copy: the seller the stored original, a licence holder its own fingerprint."""

from datetime import datetime

from sqlmodel import Session, col, select

from market.datasets import get_dataset, require_download_right
from market.errors import Forbidden, NotFound
from market.models import Dataset, Licence, Participant
from market.settlement.payments.booking import require_paid


def is_live(licence: Licence, now: datetime) -> bool:
    return licence.revoked_at is None and (licence.expires_at is None or licence.expires_at > now)


def delivery_licence(
    *, session: Session, participant: Participant, dataset: Dataset, now: datetime
) -> Licence | None:
    """The licence whose fingerprint a download carries; None for the dataset's seller.

    A buyer holding several live licences of one dataset (for several purposes) receives the
    copy of the oldest, so repeated downloads are identical.
    """
    require_download_right(session=session, participant=participant, dataset=dataset)
    if participant.id == dataset.seller_id:
        return None
    licences = session.exec(
        select(Licence)
        .where(Licence.dataset_id == dataset.id, Licence.buyer_id == participant.id)
        .order_by(col(Licence.created_at), col(Licence.id))
    ).all()
    live = [licence for licence in licences if is_live(licence, now)]
    if not live:
        raise Forbidden(f"you hold no live licence for dataset {dataset.id}")
    require_paid(session=session, licence=live[0])
    return live[0]


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
