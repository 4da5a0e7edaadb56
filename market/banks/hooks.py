"""Functions the order book calls for personal data (pooled listings, direct sales, delivery).

The trading core owns listings, bids and trades; these answer its questions about people:
who a pool's ask may match, what a cohort query may reveal, and what a trade delivered.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from market.banks.delegation import current_delegation
from market.banks.judgement import ProvisionAsk, Standing, cohort, judge
from market.banks.pool import standings
from market.models import Participant
from market.personal.provision import provided_for_request
from market.personal.recipients import recipient_view
from market.personal.records import held_categories
from market.personal.standing import effective_conditions
from market.personal.tables import ProvisionRecord, ProvisionRequest
from market.purposes import PURPOSES


@dataclass(frozen=True)
class CohortAnswer:
    """What a buyer may learn before bidding: the count, or only that it is below the minimum."""

    below_minimum: bool
    people: int | None


def cohort_answer(
    *,
    session: Session,
    bank_id: str,
    recipient: Participant,
    purpose: str,
    categories: list[str],
    price_per_record_yen: int,
    min_cohort: int,
    now: datetime,
) -> CohortAnswer:
    """For `GET /listings/{id}/cohort`: never reveals a count below the minimum."""
    view = recipient_view(recipient)
    ask = ProvisionAsk(
        recipient_id=view.id,
        recipient_category=view.category,
        recipient_country=view.country,
        purpose=purpose,
        categories=frozenset(categories),
        price_per_record_yen=price_per_record_yen,
        at=now,
    )
    people = len(cohort(standings(session=session, bank_id=bank_id), ask))
    if people < max(min_cohort, 1):
        return CohortAnswer(below_minimum=True, people=None)
    return CohortAnswer(below_minimum=False, people=people)


def eligible_recipients(
    people: list[Standing],
    *,
    candidates: Iterable[Participant],
    categories: frozenset[str],
    price_per_record_yen: int,
    min_cohort: int,
    at: datetime,
    purposes: Iterable[str] = PURPOSES,
) -> dict[str, frozenset[str]]:
    """Pure: for each purpose, the candidate recipient ids whose cohort reaches the minimum.

    This is what a pooled ask's terms carry (pushed with the engine's `update` when conditions
    or delegations change), so the engine never matches a trade below the minimum cohort.
    """
    wanted = sorted(set(purposes))
    eligible: dict[str, set[str]] = {purpose: set() for purpose in wanted}
    views = [recipient_view(c) for c in candidates]
    for purpose in wanted:
        for view in views:
            ask = ProvisionAsk(
                recipient_id=view.id,
                recipient_category=view.category,
                recipient_country=view.country,
                purpose=purpose,
                categories=categories,
                price_per_record_yen=price_per_record_yen,
                at=at,
            )
            if len(cohort(people, ask)) >= max(min_cohort, 1):
                eligible[purpose].add(view.id)
    return {p: frozenset(ids) for p, ids in eligible.items() if ids}


def pool_terms(
    *,
    session: Session,
    bank_id: str,
    categories: list[str],
    price_per_record_yen: int,
    min_cohort: int,
    now: datetime,
    purposes: Iterable[str] = PURPOSES,
    admits: Callable[[Participant], bool] | None = None,
) -> dict[str, frozenset[str]]:
    """`eligible_recipients` over every registered business the listing admits as a recipient."""
    candidates = _businesses(session, admits)
    return eligible_recipients(
        standings(session=session, bank_id=bank_id),
        candidates=candidates,
        categories=frozenset(categories),
        price_per_record_yen=price_per_record_yen,
        min_cohort=min_cohort,
        at=now,
        purposes=purposes,
    )


def direct_sale_terms(
    *,
    session: Session,
    person_id: str,
    categories: list[str],
    price_per_record_yen: int,
    now: datetime,
    admits: Callable[[Participant], bool] | None = None,
) -> dict[str, frozenset[str]]:
    """For a person's own ask: per purpose, the recipient ids their conditions allow now.

    Nobody while the person delegates to a bank (they sell through its pool) or holds no record
    of the listed categories (there would be nothing to provide).
    """
    conditions = effective_conditions(session=session, person_ids=[person_id]).get(person_id)
    if conditions is None or current_delegation(session=session, person_id=person_id):
        return {}
    held = held_categories(session=session, person_ids=[person_id])[person_id]
    if not held & set(categories):
        return {}
    candidates = _businesses(session, admits)
    allowed: dict[str, frozenset[str]] = {}
    for purpose in sorted(conditions.purposes):
        ids = frozenset(
            view.id
            for view in map(recipient_view, candidates)
            if judge(
                conditions,
                ProvisionAsk(
                    recipient_id=view.id,
                    recipient_category=view.category,
                    recipient_country=view.country,
                    purpose=purpose,
                    categories=frozenset(categories),
                    price_per_record_yen=price_per_record_yen,
                    at=now,
                    method="explicit",
                ),
            ).covered
        )
        if ids:
            allowed[purpose] = ids
    return allowed


def _businesses(
    session: Session, admits: Callable[[Participant], bool] | None
) -> list[Participant]:
    """Every registered business (a candidate recipient) that `admits` lets receive."""
    found = session.exec(select(Participant).where(Participant.kind == "business")).all()
    return [p for p in found if admits is None or admits(p)]


def request_for_trade(*, session: Session, trade_id: str) -> ProvisionRequest | None:
    """The provision request opened for a trade (its `reference`)."""
    query = select(ProvisionRequest).where(ProvisionRequest.reference == trade_id)
    return session.exec(query).first()


def records_delivered(*, session: Session, request_id: str) -> int:
    """How many records a request provided: the trade amount is the price times this."""
    return sum(
        len(r.record_ids) for r in provided_for_request(session=session, request_id=request_id)
    )


def people_provided(*, session: Session, request_id: str) -> int:
    query = (
        select(func.count())
        .select_from(ProvisionRecord)
        .where(ProvisionRecord.request_id == request_id, col(ProvisionRecord.side) == "recipient")
    )
    return int(session.exec(query).one())
