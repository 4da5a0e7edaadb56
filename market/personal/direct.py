"""Direct provision by a person in self-control: the request waits for their own decision."""

from datetime import datetime
from typing import Any

from sqlmodel import Session

from market.banks.delegation import current_delegation
from market.banks.judgement import ProvisionAsk, judge
from market.errors import NotFound
from market.models import Participant
from market.personal.errors import NoConditions
from market.personal.provision import provide
from market.personal.recipients import RecipientView
from market.personal.requests import (
    DECLINED,
    PENDING,
    PROVIDED,
    check_terms,
    close_request,
    ensure_self_control,
    get_request,
    new_request,
    refuse,
    require_pending,
    require_recipient,
)
from market.personal.standing import effective_conditions, require_individual
from market.personal.tables import ProvisionRequest


def _judge_person(
    session: Session,
    person_id: str,
    recipient: RecipientView,
    request_terms: dict[str, Any],
    at: datetime,
) -> int:
    """The conditions version that covers the request; the named refusal otherwise."""
    conditions = effective_conditions(session=session, person_ids=[person_id]).get(person_id)
    if conditions is None:
        raise NoConditions(
            "the person has no conditions in effect; nothing can be provided until they set some"
        )
    verdict = judge(
        conditions,
        ProvisionAsk(
            recipient_id=recipient.id,
            recipient_category=recipient.category,
            recipient_country=recipient.country,
            purpose=request_terms["purpose"],
            categories=frozenset(request_terms["categories"]),
            price_per_record_yen=request_terms["price_per_record_yen"],
            anonymized=request_terms["anonymized"],
            at=at,
            method="explicit",
        ),
    )
    if not verdict.covered:
        refuse(verdict.rule, "the person's")
    return conditions.version


def open_direct_request(
    *,
    session: Session,
    recipient: Participant,
    person_id: str,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    now: datetime,
    term_days: int | None = None,
    anonymized: bool = False,
    reference: str | None = None,
) -> ProvisionRequest:
    """A request to one person, allowed by their conditions, waiting for their approval."""
    view = require_recipient(recipient)
    require_individual(session.get(Participant, person_id), "person_id")
    codes = check_terms(purpose, categories, price_per_record_yen)
    delegation = current_delegation(session=session, person_id=person_id)
    ensure_self_control(delegation.bank_id if delegation else None)
    terms = {
        "purpose": purpose,
        "categories": codes,
        "price_per_record_yen": price_per_record_yen,
        "anonymized": anonymized,
    }
    _judge_person(session, person_id, view, terms, now)
    request = new_request(
        recipient=view,
        channel="direct",
        holder_id=person_id,
        purpose=purpose,
        categories=codes,
        price_per_record_yen=price_per_record_yen,
        term_days=term_days,
        anonymized=anonymized,
        status=PENDING,
        now=now,
        reference=reference,
    )
    session.add(request)
    session.flush()
    return request


def decide_request(
    *,
    session: Session,
    person: Participant,
    request_id: str,
    approve: bool,
    now: datetime,
    ref_key: bytes,
) -> ProvisionRequest:
    """The person approves (provision under their current conditions) or declines."""
    request = get_request(session, request_id)
    if request.holder_id != person.id or request.channel != "direct":
        raise NotFound(f"you have no request {request_id}")
    require_pending(request)
    if not approve:
        return close_request(session, request, DECLINED, now, "declined by the person")
    recipient_row = session.get(Participant, request.recipient_id)
    view = require_recipient(recipient_row)
    terms = {
        "purpose": request.purpose,
        "categories": request.categories,
        "price_per_record_yen": request.price_per_record_yen,
        "anonymized": request.anonymized,
    }
    version = _judge_person(session, person.id, view, terms, now)
    provide(
        session=session,
        request=request,
        person_id=person.id,
        recipient=view,
        controller=(person.id, person.name, "pii_principal"),
        method="explicit",
        conditions_version=version,
        at=now,
        ref_key=ref_key,
    )
    return close_request(session, request, PROVIDED, now, None)
