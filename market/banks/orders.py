"""Asks of personal records kept in PDSs: a bank's pool, or one person's own records (direct sale).

The engine judges no person: each such ask carries, per purpose, the recipients whose match would
be allowed (`AskTerms.purpose_recipients`). For a pool these are the recipients for whom enough of
the bank's delegators consent to reach the listing's minimum cohort; for a direct sale, the
recipients the person's conditions allow. Whenever people, conditions or recipients change, the
market recomputes the map and pushes it with the engine's journaled `Update`, so matching stays
pure and replayable and a trade below the minimum never happens.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

import matching
from market.banks import hooks
from market.banks.delegation import current_delegation, delegators
from market.banks.judgement import ProvisionAsk, judge
from market.banks.pool import cohort_of
from market.banks.tables import PersonalListing
from market.errors import Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import Dataset, Licence, Listing, Participant, utcnow
from market.money import MAX_YEN
from market.participants import denied_for_engine, recipient_claims
from market.personal.categories import CATEGORIES, UnknownCategory, require_categories
from market.personal.errors import CohortBelowMinimum, RecipientDenied
from market.personal.records import held_categories
from market.personal.requests import ensure_self_control, refuse, require_recipient
from market.personal.standing import effective_conditions
from market.personal.tables import PersonalRecord
from market.purposes import UnknownPurpose, expand_purposes, require_leaf_purpose
from market.trading.instruments import ensure_instrument, instrument_of

POOL = "pool"
DIRECT = "direct"
CHANNELS = {"info_bank": POOL, "individual": DIRECT}
# Source marker of the description row a PDS listing keeps in the dataset table; it has no blob.
PDS_SOURCE = "pds"
MAX_COHORT = 1_000_000


def pds_category(categories: list[str]) -> str:
    """The dataset category (and so the instrument) of listings of these record categories."""
    return "pds." + ".".join(sorted(categories))


def is_pds_dataset(dataset: Dataset) -> bool:
    return dataset.data_class == "personal" and dataset.source_encoding == PDS_SOURCE


def make_personal_ask(
    *,
    session: Session,
    seller: Participant,
    categories: list[str],
    min_cohort: int,
    price_yen: int,
    allowed_purposes: list[str],
    now: datetime,
    licence_count: int | None = None,
    allowed_recipients: list[str] | None = None,
    denied_recipients: list[str] | None = None,
    term_days: int | None = None,
    exclusive: bool = False,
) -> tuple[Listing, Any]:
    """A bank's pool or a person's own records as a listing, and the engine command offering it."""
    channel = CHANNELS.get(seller.kind)
    if channel is None:
        raise InvalidRequest(
            "a pool is listed by an information bank (its delegators' records) or by an "
            "individual (their own records); list a dataset with dataset_id instead"
        )
    try:
        codes = sorted(require_categories(categories))
        purposes = expand_purposes(allowed_purposes)
    except (UnknownCategory, UnknownPurpose) as exc:
        raise InvalidRequest(str(exc)) from None
    if not codes:
        raise InvalidRequest("pool.categories must name at least one record category")
    if not purposes:
        raise InvalidRequest("allowed_purposes must name at least one purpose (docs/purposes.md)")
    if not 0 < price_yen <= MAX_YEN:
        raise InvalidRequest(f"price_yen (per record) must be from 1 to {MAX_YEN:,}")
    if licence_count is not None or exclusive:
        raise InvalidRequest(
            "personal records are licensed to every recipient the people allow: a pool has no "
            "licence_count and is never exclusive"
        )
    if not 1 <= min_cohort <= MAX_COHORT:
        raise InvalidRequest(f"pool.min_cohort must be from 1 to {MAX_COHORT:,}")
    if channel == DIRECT:
        if min_cohort != 1:
            raise InvalidRequest("a person's own records are one person: min_cohort is 1")
        delegation = current_delegation(session=session, person_id=seller.id)
        ensure_self_control(delegation.bank_id if delegation else None)
        held = held_categories(session=session, person_ids=[seller.id])[seller.id]
        if not held & set(codes):
            raise InvalidRequest("you hold no records of these categories: store some first")
    dataset = _description(session, seller, channel, codes, min_cohort)
    instrument = ensure_instrument(
        session=session, name=instrument_of(dataset.category, dataset.data_class), created_by=seller
    )
    listing = Listing(
        dataset_id=dataset.id,
        seller_id=seller.id,
        instrument=instrument.name,
        price_yen=price_yen,
        licence_count=None,
        allowed_purposes=sorted(purposes),
        allowed_recipients=sorted(set(allowed_recipients or [])),
        denied_recipients=sorted(set(denied_recipients or [])),
        term_days=term_days,
    )
    session.add(listing)
    session.flush()
    personal = PersonalListing(
        listing_id=listing.id,
        holder_id=seller.id,
        channel=channel,
        categories=codes,
        min_cohort=min_cohort,
        created_at=now,
        refreshed_at=now,
    )
    recipients = recipients_for(session=session, listing=listing, personal=personal, now=now)
    personal.recipients = _stored(recipients)
    session.add(personal)
    record_event(
        session,
        "ListingOpened",
        {"listing_id": listing.id, "dataset_id": dataset.id, "price_yen": price_yen},
    )
    command = matching.Limit(
        id=listing.id,
        instrument=listing.instrument,
        participant=seller.id,
        side=matching.Side.SELL,
        price=price_yen,
        qty=None,
        terms=ask_terms(listing, dataset, personal, recipients),
    )
    return listing, command


def _description(
    session: Session, seller: Participant, channel: str, codes: list[str], min_cohort: int
) -> Dataset:
    """The public description of a PDS listing (a dataset row with no blob: contents are
    decided at delivery, from the people who consent then)."""
    labels = "、".join(CATEGORIES[c].ja for c in codes)
    english = ", ".join(CATEGORIES[c].en for c in codes)
    if channel == POOL:
        title = f"情報銀行のプール: {labels} / pooled by an information bank: {english}"
        description = (
            f"Records of the bank's delegators whose conditions allow the recipient and purpose; "
            f"priced per record; at least {min_cohort} people or no trade. "
            "GET /listings/{id}/cohort tells how many people a purchase would deliver."
        )
    else:
        title = f"本人による提供: {labels} / a person's own records: {english}"
        description = (
            "One person's records, provided only if their conditions allow the recipient and "
            "purpose and they approve the trade; priced per record."
        )
    columns = sorted({name for c in codes for name in CATEGORIES[c].schema.model_fields})
    dataset = Dataset(
        seller_id=seller.id,
        title=title[:200],
        description=description,
        category=pds_category(codes),
        data_class="personal",
        columns=columns,
        tags=codes,
        row_count=0,
        size_bytes=0,
        source_encoding=PDS_SOURCE,
        sha256="",
    )
    dataset.sha256 = hashlib.sha256(f"pds-listing:{dataset.id}".encode()).hexdigest()
    session.add(dataset)
    session.flush()
    return dataset


def listing_admits(listing: Listing, recipient: Participant) -> bool:
    """Whether the listing's own allowed and denied recipients let `recipient` receive.

    The engine's rule (`matching.terms.recipient_allowed`) on the same claims: a denied id or
    category (verified or not) refuses; a non-empty allow list admits only what it names.
    """
    claims = recipient_claims(recipient)
    denied = denied_for_engine(listing.denied_recipients)
    if recipient.id in denied or claims & denied:
        return False
    allowed = set(listing.allowed_recipients)
    return not allowed or recipient.id in allowed or bool(claims & allowed)


def recipients_for(
    *, session: Session, listing: Listing, personal: PersonalListing, now: datetime
) -> dict[str, frozenset[str]]:
    """Per allowed purpose, the recipient ids a match would be allowed for, judged now: those
    the listing itself admits and, for each, the people's conditions allow."""

    def admits(recipient: Participant) -> bool:
        return listing_admits(listing, recipient)

    if personal.channel == POOL:
        found = hooks.pool_terms(
            session=session,
            bank_id=personal.holder_id,
            categories=personal.categories,
            price_per_record_yen=listing.price_yen,
            min_cohort=personal.min_cohort,
            now=now,
            purposes=listing.allowed_purposes,
            admits=admits,
        )
    else:
        found = hooks.direct_sale_terms(
            session=session,
            person_id=personal.holder_id,
            categories=personal.categories,
            price_per_record_yen=listing.price_yen,
            now=now,
            admits=admits,
        )
    allowed = set(listing.allowed_purposes)
    return {p: ids for p, ids in found.items() if p in allowed and ids}


def _stored(recipients: dict[str, frozenset[str]]) -> dict[str, list[str]]:
    return {p: sorted(ids) for p, ids in sorted(recipients.items())}


def ask_terms(
    listing: Listing,
    dataset: Dataset,
    personal: PersonalListing,
    recipients: dict[str, frozenset[str]],
) -> Any:
    return matching.AskTerms(
        dataset_id=dataset.id,
        data_class=dataset.data_class,
        quality=dataset.quality_score,
        tags=frozenset(dataset.tags),
        columns=frozenset(dataset.columns),
        allowed_purposes=frozenset(listing.allowed_purposes),
        allowed_recipients=frozenset(listing.allowed_recipients),
        denied_recipients=denied_for_engine(listing.denied_recipients),
        term_days=listing.term_days,
        purpose_recipients=frozenset((p, r) for p, ids in recipients.items() for r in ids),
    )


def refresh_commands(*, session: Session, now: datetime) -> list[Any]:
    """An engine `Update` for every open PDS listing whose recipient map changed (stored too)."""
    query = (
        select(PersonalListing, Listing, Dataset)
        .where(PersonalListing.listing_id == Listing.id, Listing.dataset_id == Dataset.id)
        .where(Listing.status == "open")
        .order_by(col(PersonalListing.created_at), col(PersonalListing.listing_id))
    )
    commands = []
    for personal, listing, dataset in session.exec(query).all():
        recipients = recipients_for(session=session, listing=listing, personal=personal, now=now)
        if _stored(recipients) == personal.recipients:
            continue
        personal.recipients = _stored(recipients)
        personal.refreshed_at = now
        session.add(personal)
        commands.append(
            matching.Update(
                id=listing.id,
                instrument=listing.instrument,
                side=matching.Side.SELL,
                terms=ask_terms(listing, dataset, personal, recipients),
                participant=listing.seller_id,
            )
        )
    return commands


def records_per_licence(*, session: Session, instrument: str, dataset_id: str | None) -> int:
    """The most records one licence of a bid may deliver: the largest pool (every record of the
    listed categories its delegators hold) or person's own records among the open PDS listings
    the bid could buy when it enters; 1 on an instrument of datasets.

    The risk stage reserves max price × this per licence, and the trade releases it for the
    invoice of the records actually delivered: a pool delivers only its people's records of those
    categories, and of them only those whose conditions allow it. (People who join a pool after
    the bid entered can raise its delivery above the reservation: docs/personal-data.md.)
    """
    query = select(PersonalListing, Listing).where(
        PersonalListing.listing_id == Listing.id,
        Listing.instrument == instrument,
        Listing.status == "open",
    )
    if dataset_id is not None:
        query = query.where(Listing.dataset_id == dataset_id)
    most = 1
    for personal, _ in session.exec(query).all():
        people = (
            delegators(session=session, bank_id=personal.holder_id)
            if personal.channel == POOL
            else [personal.holder_id]
        )
        if not people:
            continue
        count = select(func.count()).where(
            col(PersonalRecord.person_id).in_(people),
            col(PersonalRecord.category).in_(personal.categories),
        )
        most = max(most, int(session.exec(count).one()))
    return most


def open_personal_listings(*, session: Session) -> bool:
    query = select(PersonalListing.listing_id).where(
        PersonalListing.listing_id == Listing.id, Listing.status == "open"
    )
    return session.exec(query.limit(1)).first() is not None


def personal_listing_of_dataset(
    *, session: Session, dataset_id: str
) -> tuple[PersonalListing, Listing] | None:
    query = select(PersonalListing, Listing).where(
        PersonalListing.listing_id == Listing.id, Listing.dataset_id == dataset_id
    )
    row = session.exec(query).first()
    return None if row is None else (row[0], row[1])


def require_bid_allowed(
    *,
    session: Session,
    buyer: Participant,
    dataset_id: str,
    purpose: str,
    now: datetime,
) -> None:
    """A bid naming a PDS listing's dataset is judged before it enters: a named refusal if the
    people's conditions would not let it trade (a bid for any dataset simply skips such asks)."""
    found = personal_listing_of_dataset(session=session, dataset_id=dataset_id)
    if found is None:
        return
    personal, listing = found
    if not listing_admits(listing, buyer):
        raise RecipientDenied(
            "the listing's seller does not provide to you (its denied or allowed recipients); "
            "nothing was stored"
        )
    if personal.channel == POOL:
        people = cohort_of(
            session=session,
            bank_id=personal.holder_id,
            recipient=buyer,
            purpose=purpose,
            categories=personal.categories,
            price_per_record_yen=listing.price_yen,
            now=now,
        )
        if len(people) < personal.min_cohort:
            raise CohortBelowMinimum(
                f"fewer people than the minimum of {personal.min_cohort} allow this recipient "
                "and purpose; nothing was stored"
            )
        return
    delegation = current_delegation(session=session, person_id=personal.holder_id)
    ensure_self_control(delegation.bank_id if delegation else None)
    view = require_recipient(buyer)
    conditions = effective_conditions(session=session, person_ids=[personal.holder_id]).get(
        personal.holder_id
    )
    verdict = judge(
        conditions,
        ProvisionAsk(
            recipient_id=view.id,
            recipient_category=view.category,
            recipient_country=view.country,
            purpose=purpose,
            categories=frozenset(personal.categories),
            price_per_record_yen=listing.price_yen,
            at=now,
            method="explicit",
        ),
    )
    if not verdict.covered:
        refuse(verdict.rule, "the person's")


@dataclass(frozen=True)
class CohortView:
    """The answer to `GET /listings/{id}/cohort`: never a count below the minimum."""

    listing_id: str
    purpose: str
    min_cohort: int
    below_minimum: bool
    people: int | None


def cohort_for(
    *, session: Session, viewer: Participant, listing_id: str, purpose: str, now: datetime
) -> CohortView:
    """How many people's records a purchase by the viewer for `purpose` would deliver now."""
    personal = session.get(PersonalListing, listing_id)
    listing = session.get(Listing, listing_id)
    if personal is None or listing is None:
        raise NotFound(f"listing {listing_id} is not a listing of PDS records")
    try:
        require_leaf_purpose(purpose)
    except UnknownPurpose as exc:
        raise InvalidRequest(str(exc)) from None
    people = 0
    admitted = listing_admits(listing, viewer)
    if (
        admitted
        and purpose in listing.allowed_purposes
        and viewer.kind in ("business", "info_bank")
    ):
        if personal.channel == POOL:
            answer = hooks.cohort_answer(
                session=session,
                bank_id=personal.holder_id,
                recipient=viewer,
                purpose=purpose,
                categories=personal.categories,
                price_per_record_yen=listing.price_yen,
                min_cohort=personal.min_cohort,
                now=now,
            )
            people = answer.people or 0
        else:
            allowed = recipients_for(session=session, listing=listing, personal=personal, now=now)
            people = 1 if viewer.id in allowed.get(purpose, frozenset()) else 0
    below = people < personal.min_cohort
    return CohortView(
        listing_id=listing_id,
        purpose=purpose,
        min_cohort=personal.min_cohort,
        below_minimum=below,
        people=None if below else people,
    )


def request_of_licence(*, session: Session, buyer: Participant, licence_id: str) -> str:
    """The provision request behind a licence of PDS records (its trade's `reference`)."""
    licence = session.get(Licence, licence_id)
    if licence is None or licence.buyer_id != buyer.id:
        raise NotFound(f"you hold no licence {licence_id}")
    request = hooks.request_for_trade(session=session, trade_id=licence.trade_id)
    if request is None:
        # The licence exists, but it holds a dataset, not records: there are none to show.
        raise NotFound(
            f"licence {licence_id} is not of personal records: download its dataset with "
            f"GET /datasets/{licence.dataset_id}/download"
        )
    if licence.expires_at is not None and licence.expires_at <= utcnow():
        raise Forbidden(f"licence {licence_id} expired; nothing more is delivered under it")
    return request.id
