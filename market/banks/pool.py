"""A bank's pooled provision: judged per person, sensitive requests through the ethics board.

Contents are decided when provided, from the people whose conditions cover the request at that
moment, never from a copy made when the request arrived.
"""

from datetime import datetime

from sqlmodel import Session

from market.banks.delegation import delegators
from market.banks.judgement import ProvisionAsk, Standing, cohort
from market.banks.tables import BoardCase
from market.errors import InvalidRequest
from market.events import record_event
from market.models import Participant
from market.personal.categories import SENSITIVE
from market.personal.errors import CohortBelowMinimum
from market.personal.provision import provide
from market.personal.recipients import RecipientView
from market.personal.records import held_categories
from market.personal.requests import (
    BOARD_PENDING,
    CANCELLED,
    PROVIDED,
    check_terms,
    close_request,
    new_request,
    require_recipient,
)
from market.personal.standing import effective_conditions
from market.personal.tables import ProvisionRequest


def require_bank(participant: Participant | None) -> Participant:
    if participant is None or participant.kind != "info_bank":
        raise InvalidRequest("this is for registered information banks")
    return participant


def standings(*, session: Session, bank_id: str) -> list[Standing]:
    """Each person delegating to the bank, with their conditions in effect and categories held."""
    people = delegators(session=session, bank_id=bank_id)
    conditions = effective_conditions(session=session, person_ids=people)
    held = held_categories(session=session, person_ids=people)
    return [Standing(p, conditions.get(p), held[p]) for p in people]


def ask_of(
    recipient: RecipientView,
    purpose: str,
    categories: list[str],
    price: int,
    anonymized: bool,
    at: datetime,
) -> ProvisionAsk:
    return ProvisionAsk(
        recipient_id=recipient.id,
        recipient_category=recipient.category,
        recipient_country=recipient.country,
        purpose=purpose,
        categories=frozenset(categories),
        price_per_record_yen=price,
        anonymized=anonymized,
        at=at,
        method="delegated",
    )


def cohort_of(
    *,
    session: Session,
    bank_id: str,
    recipient: Participant,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    now: datetime,
    anonymized: bool = False,
) -> list[str]:
    """The people whose records the bank would provide to this recipient now."""
    view = require_recipient(recipient)
    codes = check_terms(purpose, categories, price_per_record_yen)
    ask = ask_of(view, purpose, codes, price_per_record_yen, anonymized, now)
    return cohort(standings(session=session, bank_id=bank_id), ask)


def open_pool_request(
    *,
    session: Session,
    recipient: Participant,
    bank_id: str,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    now: datetime,
    ref_key: bytes,
    min_cohort: int = 1,
    term_days: int | None = None,
    anonymized: bool = False,
    reference: str | None = None,
) -> ProvisionRequest:
    """Ask a bank for its pool: provided at once, or queued for the board if sensitive."""
    bank = require_bank(session.get(Participant, bank_id))
    view = require_recipient(recipient)
    codes = check_terms(purpose, categories, price_per_record_yen)
    people = cohort_of(
        session=session,
        bank_id=bank.id,
        recipient=recipient,
        purpose=purpose,
        categories=codes,
        price_per_record_yen=price_per_record_yen,
        now=now,
        anonymized=anonymized,
    )
    if len(people) < max(min_cohort, 1):
        raise CohortBelowMinimum(
            f"fewer people than the minimum of {min_cohort} allow this recipient and purpose; "
            "nothing was provided"
        )
    sensitive = bool(set(codes) & SENSITIVE)
    request = new_request(
        recipient=view,
        channel="pool",
        holder_id=bank.id,
        purpose=purpose,
        categories=codes,
        price_per_record_yen=price_per_record_yen,
        term_days=term_days,
        anonymized=anonymized,
        status=BOARD_PENDING,
        now=now,
        reference=reference,
    )
    request.min_cohort = max(min_cohort, 1)
    session.add(request)
    session.flush()
    if sensitive:
        session.add(BoardCase(request_id=request.id, bank_id=bank.id, created_at=now))
        record_event(session, "BoardCaseOpened", {"request_id": request.id, "bank_id": bank.id})
        return request
    return provide_pool(session=session, request=request, bank=bank, now=now, ref_key=ref_key)


def provide_pool(
    *,
    session: Session,
    request: ProvisionRequest,
    bank: Participant,
    now: datetime,
    ref_key: bytes,
) -> ProvisionRequest:
    """Provide the records of the people covered now; cancel if they fall below the minimum."""
    recipient = session.get(Participant, request.recipient_id)
    view = require_recipient(recipient)
    ask = ask_of(
        view,
        request.purpose,
        request.categories,
        request.price_per_record_yen,
        request.anonymized,
        now,
    )
    people = standings(session=session, bank_id=bank.id)
    covered = set(cohort(people, ask))
    if len(covered) < request.min_cohort:
        return close_request(
            session,
            request,
            CANCELLED,
            now,
            f"fewer than {request.min_cohort} people's conditions cover the request at provision",
        )
    for person in people:
        # Only a person with conditions can be covered by the judgement.
        if person.person_id in covered and person.conditions is not None:
            provide(
                session=session,
                request=request,
                person_id=person.person_id,
                recipient=view,
                controller=(bank.id, bank.name, "information_bank"),
                method="delegated",
                conditions_version=person.conditions.version,
                at=now,
                ref_key=ref_key,
            )
    return close_request(session, request, PROVIDED, now, None)
