"""Delegation: a person hands decisions within their conditions to one information bank."""

from datetime import datetime

from sqlmodel import Session, col, select

from market.banks.tables import Delegation
from market.errors import NotFound
from market.events import record_event
from market.models import Participant


def current_delegation(*, session: Session, person_id: str) -> Delegation | None:
    query = select(Delegation).where(
        Delegation.person_id == person_id, col(Delegation.ended_at).is_(None)
    )
    return session.exec(query).first()


def delegate(*, session: Session, person: Participant, bank_id: str, now: datetime) -> Delegation:
    """Delegate to `bank_id`, ending any other delegation; it applies to later requests at once."""
    bank = session.get(Participant, bank_id)
    if bank is None or bank.kind != "info_bank":
        raise NotFound(f"{bank_id} is not a registered information bank")
    current = current_delegation(session=session, person_id=person.id)
    if current is not None and current.bank_id == bank_id:
        return current
    if current is not None:
        _end(session, current, now)
    delegation = Delegation(person_id=person.id, bank_id=bank_id, started_at=now)
    session.add(delegation)
    session.flush()
    record_event(session, "DelegationStarted", {"person_id": person.id, "bank_id": bank_id})
    return delegation


def end_delegation(*, session: Session, person: Participant, now: datetime) -> Delegation | None:
    """Back to self-control; returns the ended delegation, if there was one."""
    current = current_delegation(session=session, person_id=person.id)
    if current is not None:
        _end(session, current, now)
    return current


def _end(session: Session, delegation: Delegation, now: datetime) -> None:
    delegation.ended_at = now
    session.add(delegation)
    record_event(
        session,
        "DelegationEnded",
        {"person_id": delegation.person_id, "bank_id": delegation.bank_id},
    )


def delegators(*, session: Session, bank_id: str) -> list[str]:
    """Ids of the people currently delegating to the bank."""
    query = select(Delegation.person_id).where(
        Delegation.bank_id == bank_id, col(Delegation.ended_at).is_(None)
    )
    return sorted(session.exec(query))
