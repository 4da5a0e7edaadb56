"""Conditions versions, age and guardianship: what is in effect for a person, and its history.

A change makes a new version and never edits an old one. A minor's version waits for their
guardian's confirmation; until then the previous version (if any) stays in effect.
"""

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from market.errors import Conflict, InvalidRequest, NotFound
from market.events import record_event
from market.models import Participant
from market.personal.conditions import Conditions, from_body, normalize_body
from market.personal.errors import GuardianRequired
from market.personal.tables import ConditionsVersion, PersonAccount

IN_EFFECT = "in_effect"
AWAITING_GUARDIAN = "awaiting_guardian"
SUPERSEDED = "superseded"
NEVER_CONFIRMED = "never_confirmed"


def age_on(birth_date: date, day: datetime) -> int:
    """Completed years of age on `day` (a birthday counts from the day itself)."""
    on = day.date()
    return on.year - birth_date.year - int((on.month, on.day) < (birth_date.month, birth_date.day))


def require_individual(participant: Participant | None, what: str = "this") -> Participant:
    if participant is None or participant.kind != "individual":
        raise InvalidRequest(f"{what} must be a registered individual participant")
    return participant


def account_of(session: Session, person_id: str) -> PersonAccount | None:
    return session.get(PersonAccount, person_id)


def is_minor(account: PersonAccount | None, *, now: datetime, minor_age_below: int) -> bool:
    """A person whose birth date is on record and whose age is below the threshold."""
    if account is None or account.birth_date is None:
        return False
    return age_on(account.birth_date, now) < minor_age_below


def set_account(
    *,
    session: Session,
    person: Participant,
    birth_date: date | None,
    guardian_id: str | None,
    now: datetime,
    minor_age_below: int,
) -> PersonAccount:
    """Record the person's birth date (once) and guardian; a guardian is an adult individual."""
    account = account_of(session, person.id) or PersonAccount(person_id=person.id)
    if birth_date is not None:
        if account.birth_date is not None and account.birth_date != birth_date:
            raise Conflict("the birth date is already recorded; ask the operator to correct it")
        if birth_date > now.date():
            raise InvalidRequest("birth_date is in the future")
        account.birth_date = birth_date
    if guardian_id is not None:
        if guardian_id == person.id:
            raise InvalidRequest("a person cannot be their own guardian")
        guardian = require_individual(session.get(Participant, guardian_id), "guardian_id")
        if is_minor(account_of(session, guardian.id), now=now, minor_age_below=minor_age_below):
            raise InvalidRequest("a guardian must be an adult")
        account.guardian_id = guardian.id
    session.add(account)
    session.flush()
    return account


def require_guardian_if_minor(
    *, session: Session, person_id: str, now: datetime, minor_age_below: int
) -> bool:
    """True if the person is a minor (who has a guardian); GuardianRequired if they have none."""
    account = account_of(session, person_id)
    if account is None or not is_minor(account, now=now, minor_age_below=minor_age_below):
        return False
    if account.guardian_id is None:
        raise GuardianRequired(
            f"a person under {minor_age_below} needs a guardian: name one with PUT /me/account "
            '{"guardian_id": ...}; the guardian then confirms your conditions'
        )
    return True


def versions(*, session: Session, person_id: str) -> list[ConditionsVersion]:
    """Every version, newest first."""
    query = select(ConditionsVersion).where(ConditionsVersion.person_id == person_id)
    return list(session.exec(query.order_by(col(ConditionsVersion.version).desc())))


def put_conditions(
    *,
    session: Session,
    person: Participant,
    body: dict[str, Any],
    now: datetime,
    minor_age_below: int,
) -> ConditionsVersion:
    """Add a new version: in effect at once, or awaiting the guardian for a minor."""
    normalized = normalize_body(body, now=now)
    minor = require_guardian_if_minor(
        session=session, person_id=person.id, now=now, minor_age_below=minor_age_below
    )
    history = versions(session=session, person_id=person.id)
    for old in history:
        if old.status == AWAITING_GUARDIAN:
            _close(session, old, NEVER_CONFIRMED, now)
    row = ConditionsVersion(
        person_id=person.id,
        version=(history[0].version + 1) if history else 1,
        body=normalized,
        status=AWAITING_GUARDIAN if minor else IN_EFFECT,
        created_at=now,
    )
    if not minor:
        _take_effect(session, row, history, now)
    session.add(row)
    session.flush()
    record_event(
        session,
        "ConditionsChanged",
        {"person_id": person.id, "version": row.version, "status": row.status},
    )
    return row


def confirm_conditions(
    *, session: Session, guardian: Participant, person_id: str, version: int, now: datetime
) -> ConditionsVersion:
    """The guardian confirms a ward's waiting version, which then takes effect."""
    account = account_of(session, person_id)
    if account is None or account.guardian_id != guardian.id:
        raise NotFound(f"you are not the recorded guardian of {person_id}")
    history = versions(session=session, person_id=person_id)
    row = next((v for v in history if v.version == version), None)
    if row is None or row.status != AWAITING_GUARDIAN:
        raise Conflict(f"version {version} is not waiting for confirmation")
    row.status = IN_EFFECT
    row.confirmed_by = guardian.id
    _take_effect(session, row, [v for v in history if v is not row], now)
    session.add(row)
    record_event(session, "ConditionsConfirmed", {"person_id": person_id, "version": version})
    return row


def _take_effect(
    session: Session, row: ConditionsVersion, history: list[ConditionsVersion], now: datetime
) -> None:
    row.effective_at = now
    for old in history:
        if old.status == IN_EFFECT:
            _close(session, old, SUPERSEDED, now)


def _close(session: Session, row: ConditionsVersion, status: str, now: datetime) -> None:
    row.status = status
    row.superseded_at = now
    session.add(row)


def waiting_for_guardian(*, session: Session, guardian_id: str) -> list[ConditionsVersion]:
    wards = select(PersonAccount.person_id).where(PersonAccount.guardian_id == guardian_id)
    query = select(ConditionsVersion).where(
        col(ConditionsVersion.person_id).in_(wards),
        ConditionsVersion.status == AWAITING_GUARDIAN,
    )
    return list(session.exec(query))


def effective_conditions(*, session: Session, person_ids: list[str]) -> dict[str, Conditions]:
    """The conditions in effect for each person who has any."""
    if not person_ids:
        return {}
    query = select(ConditionsVersion).where(
        col(ConditionsVersion.person_id).in_(person_ids), ConditionsVersion.status == IN_EFFECT
    )
    return {row.person_id: from_body(row.version, row.body) for row in session.exec(query)}
