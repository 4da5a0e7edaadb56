"""Tracing a leaked copy to the licence it was delivered under (reads the database only)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from market.delivery.fingerprint import (
    Evidence,
    FingerprintKey,
    Leak,
    RowValues,
    licence_key,
    row_values,
    score,
)
from market.models import Dataset, Licence, Participant
from market.revisions.tables import DatasetRevision

Columns = tuple[str, ...]


@dataclass(frozen=True)
class Suspect:
    """A licence whose fingerprint the leak carries."""

    licence_id: str
    buyer_id: str
    buyer_name: str
    dataset_id: str
    evidence: Evidence


@dataclass(frozen=True)
class Trace:
    """What a trace compared and what it found (no suspect: no licence's fingerprint is there)."""

    rows: int
    datasets: list[str]
    licences_checked: int
    suspects: list[Suspect]


def candidate_datasets(*, session: Session, columns: Sequence[str]) -> dict[str, list[Columns]]:
    """Datasets any revision of which has exactly the leak's columns (in any order), each with
    the distinct column orders of those revisions (a copy's marks follow its revision's order)."""
    wanted = set(columns)
    found: dict[str, list[Columns]] = {}
    shapes = [(d.id, d.columns) for d in session.exec(select(Dataset)).all()]
    revisions = session.exec(select(DatasetRevision.dataset_id, DatasetRevision.columns)).all()
    for dataset_id, names in [*shapes, *revisions]:
        order = tuple(names)
        if set(order) == wanted and order not in found.setdefault(dataset_id, []):
            found[dataset_id].append(order)
    return found


def trace_leak(*, session: Session, master_keys: Sequence[bytes], leak: Leak) -> Trace:
    """Score the leak against every licence ever issued for a dataset with its columns, for
    whichever revision it came from.

    Revoked and expired licences are checked too (a copy outlives its licence), under the
    current master key and every previous one (fingerprints made before a key rotation).
    """
    datasets = candidate_datasets(session=session, columns=list(leak.frame.columns))
    values = {
        dataset_id: [row_values(leak.frame, order) for order in orders]
        for dataset_id, orders in datasets.items()
    }
    licences = session.exec(select(Licence).where(col(Licence.dataset_id).in_(list(values)))).all()
    suspects = []
    for licence in licences:
        for master in master_keys:
            evidence = _best(leak, values[licence.dataset_id], licence_key(master, licence.id))
            if evidence.matches:
                buyer = session.get(Participant, licence.buyer_id)
                name = buyer.name if buyer is not None else "?"
                suspects.append(
                    Suspect(licence.id, licence.buyer_id, name, licence.dataset_id, evidence)
                )
                break
    suspects.sort(key=lambda s: (-s.evidence.order.share, -s.evidence.quoting.share))
    return Trace(len(leak.frame), sorted(values), len(licences), suspects)


def _best(leak: Leak, orders: Sequence[RowValues], key: FingerprintKey) -> Evidence:
    """The evidence under the first column order that matches (else the last one scored)."""
    for values in orders:
        evidence = score(leak, values, key)
        if evidence.matches:
            break
    return evidence
