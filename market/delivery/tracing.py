"""Tracing a leaked copy to the licence it was delivered under (reads the database only)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from market.delivery.fingerprint import Evidence, Leak, licence_key, row_values, score
from market.models import Dataset, Licence, Participant


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


def candidate_datasets(*, session: Session, columns: Sequence[str]) -> list[Dataset]:
    """Datasets with exactly the leak's columns, in any order."""
    wanted = set(columns)
    return [d for d in session.exec(select(Dataset)).all() if set(d.columns) == wanted]


def trace_leak(*, session: Session, master_keys: Sequence[bytes], leak: Leak) -> Trace:
    """Score the leak against every licence ever issued for a dataset with its columns.

    Revoked and expired licences are checked too (a copy outlives its licence), under the
    current master key and every previous one (fingerprints made before a key rotation).
    """
    datasets = candidate_datasets(session=session, columns=list(leak.frame.columns))
    values = {d.id: row_values(leak.frame, d.columns) for d in datasets}
    licences = session.exec(select(Licence).where(col(Licence.dataset_id).in_(list(values)))).all()
    suspects = []
    for licence in licences:
        for master in master_keys:
            evidence = score(leak, values[licence.dataset_id], licence_key(master, licence.id))
            if evidence.matches:
                buyer = session.get(Participant, licence.buyer_id)
                name = buyer.name if buyer is not None else "?"
                suspects.append(
                    Suspect(licence.id, licence.buyer_id, name, licence.dataset_id, evidence)
                )
                break
    suspects.sort(key=lambda s: (-s.evidence.order.share, -s.evidence.quoting.share))
    return Trace(len(leak.frame), sorted(values), len(licences), suspects)
