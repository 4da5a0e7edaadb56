"""Asks (listings) and bids: turning market requests into engine commands and booking the results."""

import functools
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import Insert, Select, bindparam, insert
from sqlalchemy import select as core_select
from sqlmodel import Session, col

import matching
from market.banks.orders import records_per_licence, require_bid_allowed
from market.banks.tables import PersonalListing
from market.banks.trades import book_personal_trade
from market.datasets import get_dataset
from market.errors import Conflict, Forbidden, InvalidRequest, NotFound, OrderRejected
from market.events import record_event
from market.models import Bid, Dataset, Licence, Listing, Participant, Trade, new_id, utcnow
from market.money import MAX_QUANTITY, MAX_YEN
from market.participants import denied_for_engine, recipient_claims
from market.purposes import UnknownPurpose, expand_purposes, require_leaf_purpose
from market.revisions.entitlement import (
    current_revision,
    held_datasets,
    require_no_duplicate_licence,
)
from market.settlement.credit import settle_invoices_from_deposit
from market.settlement.invoices import (
    insert_now,
    loaded_or_read,
    settle_trade_by_invoice,
    update_now,
)
from market.settlement.payments import booking as card_payments
from market.trading.instruments import ensure_instrument, instrument_of, require_instrument
from market.trading.licensing import require_listable
from market.vocabulary import SELLER_KINDS

TIME_IN_FORCE = ("GTC", "IOC", "FOK")
# A licence term longer than a century is refused: it would overflow date arithmetic long before
# it meant anything different from a perpetual licence (term_days null).
MAX_TERM_DAYS = 36_500

# Licences of one listing; the column is a 32-bit integer on PostgreSQL.
MAX_LICENCE_COUNT = 1_000_000_000


class OrderKindMismatch(NotFound):
    """An order id given to the wrong endpoint (a listing's id to DELETE /bids, or the reverse)."""


def make_ask(
    *,
    session: Session,
    seller: Participant,
    dataset_id: str,
    price_yen: int,
    licence_count: int | None,
    allowed_purposes: list[str],
    allowed_recipients: list[str] | None = None,
    denied_recipients: list[str] | None = None,
    term_days: int | None = None,
    exclusive: bool = False,
) -> tuple[Listing, Any]:
    """Create a listing of the seller's dataset and the engine command that offers it."""
    dataset = get_dataset(session=session, dataset_id=dataset_id)
    if dataset.seller_id != seller.id:
        raise Forbidden(f"dataset {dataset_id} belongs to another seller; list your own datasets")
    if seller.kind not in SELLER_KINDS:
        raise Forbidden("only businesses, individuals and information banks can sell data")
    if dataset.data_class == "personal":
        raise InvalidRequest(
            f"dataset {dataset_id} is personal data, which is never listed as such: anonymize it "
            "(POST /anonymization-jobs) and list the resulting 匿名加工情報"
        )
    if not 0 < price_yen <= MAX_YEN:
        raise InvalidRequest(f"price_yen must be a whole number of yen from 1 to {MAX_YEN:,}")
    if licence_count is not None and not 0 < licence_count <= MAX_LICENCE_COUNT:
        raise InvalidRequest("licence_count must be positive, or null for unlimited licences")
    try:
        purposes = expand_purposes(allowed_purposes)
    except UnknownPurpose as exc:
        raise InvalidRequest(str(exc)) from None
    if not purposes:
        raise InvalidRequest("allowed_purposes must name at least one purpose (docs/purposes.md)")
    if exclusive and licence_count != 1:
        raise InvalidRequest("an exclusive licence is sold once: set licence_count to 1")
    if term_days is not None and not 0 < term_days <= MAX_TERM_DAYS:
        raise InvalidRequest(
            f"term_days must be from 1 to {MAX_TERM_DAYS:,}, or null for a perpetual licence"
        )
    require_listable(session=session, seller=seller, dataset=dataset, exclusive=exclusive)
    instrument = ensure_instrument(
        session=session,
        name=instrument_of(dataset.category, dataset.data_class),
        created_by=seller,
    )
    listing = Listing(
        dataset_id=dataset.id,
        seller_id=seller.id,
        instrument=instrument.name,
        price_yen=price_yen,
        licence_count=licence_count,
        allowed_purposes=sorted(purposes),
        allowed_recipients=sorted(set(allowed_recipients or [])),
        denied_recipients=sorted(set(denied_recipients or [])),
        term_days=term_days,
        exclusive=exclusive,
        linkable=bool(dataset.linkable_columns),
    )
    session.add(listing)
    session.flush()
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
        qty=licence_count,
        terms=listing_terms(listing, dataset),
    )
    return listing, command


def listing_terms(listing: Listing, dataset: Dataset) -> Any:
    """The engine terms of a (non-PDS) listing of a dataset, as the dataset stands now."""
    return matching.AskTerms(
        dataset_id=dataset.id,
        data_class=dataset.data_class,
        quality=dataset.quality_score,
        k=dataset.privacy_k,
        tags=frozenset(dataset.tags),
        columns=frozenset(dataset.columns),
        allowed_purposes=frozenset(listing.allowed_purposes),
        allowed_recipients=frozenset(listing.allowed_recipients),
        denied_recipients=denied_for_engine(listing.denied_recipients),
        term_days=listing.term_days,
        exclusive=listing.exclusive,
        linkable=listing.linkable,
    )


def make_bid(
    *,
    session: Session,
    buyer: Participant,
    instrument: str,
    max_price_yen: int,
    purpose: str,
    quantity: int = 1,
    time_in_force: str = "GTC",
    min_quality: int = 0,
    min_k: int | None = None,
    required_tags: list[str] | None = None,
    required_columns: list[str] | None = None,
    dataset_id: str | None = None,
    min_term_days: int | None = None,
    exclusive: bool | None = None,
    confirms_linkable_consent: bool = False,
    instrument_known: bool = False,
    per_licence: int | None = None,
) -> tuple[Bid, Any]:
    """Create a bid and the engine command that places it (the caller checks credit).

    `instrument_known` skips the registry lookup of an instrument the caller knows is registered;
    `per_licence` is records_per_licence when the caller already knows it.
    """
    require_bid_fields(
        max_price_yen=max_price_yen,
        quantity=quantity,
        time_in_force=time_in_force,
        min_quality=min_quality,
        purpose=purpose,
    )
    if not instrument_known:
        require_instrument(session=session, name=instrument)
    if dataset_id is not None:
        _require_dataset_of(session=session, dataset_id=dataset_id, instrument=instrument)
        require_no_duplicate_licence(
            session=session,
            buyer=buyer,
            dataset_id=dataset_id,
            purpose=purpose,
            min_term_days=min_term_days,
        )
        # A bid naming a PDS listing hears now, by name, why the people's conditions refuse it.
        require_bid_allowed(
            session=session, buyer=buyer, dataset_id=dataset_id, purpose=purpose, now=utcnow()
        )
    constraints = {
        "min_quality": min_quality,
        "min_k": min_k,
        "required_tags": sorted(set(required_tags or [])),
        "required_columns": sorted(set(required_columns or [])),
        "dataset_id": dataset_id,
        "min_term_days": min_term_days,
        "exclusive": exclusive,
        **({"confirms_linkable_consent": True} if confirms_linkable_consent else {}),
    }
    bid = Bid(
        buyer_id=buyer.id,
        instrument=instrument,
        max_price_yen=max_price_yen,
        quantity=quantity,
        records_per_licence=(
            records_per_licence(session=session, instrument=instrument, dataset_id=dataset_id)
            if per_licence is None
            else per_licence
        ),
        purpose=purpose,
        time_in_force=time_in_force,
        constraints=constraints,
    )
    session.add(bid)
    session.flush()
    held = (
        held_datasets(session=session, buyer=buyer, instrument=instrument, purpose=purpose)
        if dataset_id is None
        else frozenset()
    )
    return bid, bid_command(
        bid_id=bid.id,
        buyer=buyer,
        instrument=instrument,
        max_price_yen=max_price_yen,
        quantity=quantity,
        time_in_force=time_in_force,
        purpose=purpose,
        constraints=constraints,
        held=held,
    )


def _require_dataset_of(*, session: Session, dataset_id: str, instrument: str) -> None:
    """A bid naming a dataset names one that exists and trades on the bid's instrument; else it
    would rest forever with nothing that could ever fill it."""
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id[:64]} does not exist")
    traded_on = instrument_of(dataset.category, dataset.data_class)
    if traded_on != instrument:
        raise InvalidRequest(
            f"dataset {dataset_id} trades on the instrument {traded_on}, not {instrument}: "
            "bid on its instrument, or leave dataset_id out"
        )


def require_bid_fields(
    *, max_price_yen: int, quantity: int, time_in_force: str, min_quality: int, purpose: str
) -> None:
    """Refuse a bid whose own fields are out of range (no database needed)."""
    if not 0 < max_price_yen <= MAX_YEN:
        raise InvalidRequest(f"max_price_yen must be a whole number of yen from 1 to {MAX_YEN:,}")
    if not 0 < quantity <= MAX_QUANTITY:
        raise InvalidRequest(f"quantity must be from 1 to {MAX_QUANTITY:,}")
    if time_in_force not in TIME_IN_FORCE:
        raise InvalidRequest(f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}")
    if not 0 <= min_quality <= 100:
        raise InvalidRequest("min_quality is a score from 0 to 100")
    try:
        require_leaf_purpose(purpose)
    except UnknownPurpose as exc:
        raise InvalidRequest(str(exc)) from None


def bid_command(
    *,
    bid_id: str,
    buyer: Participant,
    instrument: str,
    max_price_yen: int,
    quantity: int,
    time_in_force: str,
    purpose: str,
    constraints: dict[str, Any],
    held: frozenset[str],
) -> Any:
    """The engine command that places a bid (`constraints` as stored with it); `held` are the
    datasets it skips, as the buyer already licenses them."""
    return matching.Limit(
        id=bid_id,
        instrument=instrument,
        participant=buyer.id,
        side=matching.Side.BUY,
        price=max_price_yen,
        qty=quantity,
        tif=matching.TimeInForce[time_in_force],
        constraints=matching.BidConstraints(
            purpose=purpose,
            min_quality=constraints["min_quality"],
            min_k=constraints["min_k"],
            required_tags=frozenset(constraints["required_tags"]),
            required_columns=frozenset(constraints["required_columns"]),
            dataset_id=constraints["dataset_id"],
            min_term_days=constraints["min_term_days"],
            exclusive=constraints["exclusive"],
            recipient_categories=recipient_claims(buyer),
            held_datasets=held,
            confirms_linkable_consent=bool(constraints.get("confirms_linkable_consent", False)),
        ),
    )


def make_cancel(
    *, session: Session, participant: Participant, order_id: str, kind: type[Bid] | type[Listing]
) -> Any:
    """The engine command that withdraws one of the participant's open bids or listings.

    `kind` is the type the caller's endpoint handles: a listing id sent to the bid endpoint (or
    the reverse) is refused here, before anything reaches the engine.
    """
    order: Bid | Listing | None = session.get(kind, order_id)  # type: ignore[assignment]
    if order is None:
        raise OrderKindMismatch(f"you have no {_noun(kind)} {order_id}")
    owner = order.buyer_id if isinstance(order, Bid) else order.seller_id
    if owner != participant.id:
        raise NotFound(f"you have no {_noun(kind)} {order_id}")
    if order.status != "open":
        raise Conflict(f"order {order_id} is {order.status} and can no longer be cancelled")
    return matching.Cancel(id=order.id, instrument=order.instrument)


def make_amend(
    *,
    session: Session,
    participant: Participant,
    order_id: str,
    kind: type[Bid] | type[Listing],
    price_yen: int | None,
    total: int | None,
) -> tuple[Bid | Listing, Any]:
    """The engine command that changes an open order's price and/or total size.

    `total` is the whole quantity (a bid's licences wanted, a listing's licence count), so the
    new remaining size is `total` less what already traded. The engine keeps the order's time
    priority only when the price is unchanged and the size does not grow.
    """
    order: Bid | Listing | None = session.get(kind, order_id)  # type: ignore[assignment]
    if order is None:
        raise OrderKindMismatch(f"you have no {_noun(kind)} {order_id}")
    owner = order.buyer_id if isinstance(order, Bid) else order.seller_id
    if owner != participant.id:
        raise NotFound(f"you have no {_noun(kind)} {order_id}")
    if order.status != "open":
        raise Conflict(f"order {order_id} is {order.status} and can no longer be changed")
    if price_yen is None and total is None:
        raise InvalidRequest("send a new price, a new quantity, or both")
    if price_yen is not None and not 0 < price_yen <= MAX_YEN:
        raise InvalidRequest(f"the price must be a whole number of yen from 1 to {MAX_YEN:,}")
    # Whom people allow depends on the price per record (their minimum), so the terms in the
    # engine hold for this price only.
    if (
        price_yen is not None
        and isinstance(order, Listing)
        and session.get(PersonalListing, order.id) is not None
    ):
        raise InvalidRequest(
            "a listing of PDS records keeps its price per record: cancel it and list again"
        )
    remaining = None
    if total is not None:
        done = order.filled if isinstance(order, Bid) else order.licences_sold
        if isinstance(order, Listing) and order.licence_count is None:
            raise InvalidRequest("an unlimited listing has no licence count to change")
        if isinstance(order, Listing) and order.exclusive and total != 1:
            raise InvalidRequest("an exclusive licence is sold once: its licence_count stays 1")
        ceiling = MAX_QUANTITY if isinstance(order, Bid) else MAX_YEN
        if not done < total <= ceiling:
            raise InvalidRequest(
                f"the new quantity must exceed the {done} already traded (at most {ceiling:,})"
            )
        remaining = total - done
    command = matching.Amend(
        id=order.id,
        instrument=order.instrument,
        price=price_yen,
        qty=remaining,
        participant=participant.id,
    )
    return order, command


def _noun(kind: type[Bid] | type[Listing]) -> str:
    return "bid" if kind is Bid else "listing"


def book_engine_events(
    *,
    session: Session,
    events: list[Any],
    fee_bps: int,
    placed_id: str | None = None,
    ref_key: bytes = b"",
    pds_instruments: Collection[str] | None = None,
) -> tuple[list[Trade], OrderRejected | None]:
    """Turn engine events into trades, licences, invoices and order status changes.

    `placed_id` is the order the command placed, if any: only its rejection rejects an order (a
    refused cancel leaves the order as it was). `ref_key` keys the pseudonymous person
    references of personal records a trade provides (market/personal/provision.py).
    `pds_instruments`, when given, holds every instrument with a listing of PDS records (a
    superset will do): a trade on any other instrument skips the look-up of its listing's.
    """
    trades: list[Trade] = []
    rejection: OrderRejected | None = None
    card_payments.open_authorization(session=session, placed_id=placed_id)
    for event in events:
        if isinstance(event, matching.TradeExecuted):
            trades.append(_book_trade(session, event, fee_bps, ref_key, pds_instruments))
        elif isinstance(event, matching.Rejected):
            if event.id and event.id == placed_id:
                _set_status(session, event.id, "rejected", event.reason)
            rejection = OrderRejected(f"the order was rejected: {event.reason}")
        elif isinstance(event, matching.Cancelled):
            _set_status(session, event.id, "cancelled", cancel_reason(event.reason))
        elif isinstance(event, matching.Expired):
            _set_status(session, event.id, "expired", "its time in force ended")
        elif isinstance(event, matching.Amended):
            _apply_amend(session, event)
    card_payments.release_authorizations(session=session)
    return trades, rejection


def _apply_amend(session: Session, event: Any) -> None:
    """Record an order's new price and size (its remaining size plus what already traded)."""
    bid = session.get(Bid, event.id)
    if bid is not None:
        bid.max_price_yen = event.price
        bid.quantity = bid.filled + event.qty
        session.add(bid)
        # Flushed now: the desk refreshes the order it answers with, which would drop it.
        session.flush()
        return
    listing = session.get(Listing, event.id)
    if listing is not None:
        listing.price_yen = event.price
        if event.qty is not None:
            listing.licence_count = listing.licences_sold + event.qty
        session.add(listing)
    session.flush()


def cancel_reason(engine_reason: str) -> str:
    if engine_reason == "cancelled":
        return "cancelled by its owner"
    return (
        f"{engine_reason}: no eligible ask at or below the bid's price met its purpose and "
        "constraints"
    )


def _set_status(session: Session, order_id: str, status: str, reason: str) -> None:
    order = session.get(Bid, order_id) or session.get(Listing, order_id)
    if order is not None and order.status == "open":
        order.status = status
        order.status_reason = reason[:300]
        session.add(order)


def _book_trade(
    session: Session,
    event: Any,
    fee_bps: int,
    ref_key: bytes,
    pds_instruments: Collection[str] | None,
) -> Trade:
    bid = session.get(Bid, event.buy_id)
    listing = session.get(Listing, event.sell_id)
    if bid is None or listing is None:
        raise RuntimeError("the engine traded an order the market does not know")
    # Every field given (no default factory runs): a table model's defaults cost more than the
    # rest of its construction (issue 14).
    trade = Trade(
        id=new_id(),
        created_at=utcnow(),
        seq=event.seq,
        instrument=event.instrument,
        bid_id=bid.id,
        listing_id=listing.id,
        buyer_id=bid.buyer_id,
        seller_id=listing.seller_id,
        dataset_id=listing.dataset_id,
        price_yen=event.price,
        quantity=event.qty,
        linkable_consent=listing.linkable
        and bool(bid.constraints.get("confirms_linkable_consent", False)),
    )
    filled = bid.filled + event.qty
    sold = listing.licences_sold + event.qty
    # The orders' new state, the trade and its licence are written at once (issue 14).
    update_now(session, bid, filled=filled, status="filled" if filled >= bid.quantity else None)
    update_now(
        session,
        listing,
        licences_sold=sold,
        status="sold_out"
        if listing.licence_count is not None and sold >= listing.licence_count
        else None,
    )
    insert_now(session, trade)
    personal = (
        None
        if pds_instruments is not None and listing.instrument not in pds_instruments
        else _personal_listing(session, listing.id)
    )
    session.connection().execute(
        _insert_licence(),
        {
            "id": new_id(),
            "trade_id": trade.id,
            "buyer_id": bid.buyer_id,
            "dataset_id": listing.dataset_id,
            "purpose": bid.purpose,
            "exclusive": listing.exclusive,
            "revision": current_revision(session=session, dataset_id=listing.dataset_id),
            "covers": listing.covers,
            "created_at": utcnow(),
            "expires_at": (
                trade.created_at + timedelta(days=listing.term_days) if listing.term_days else None
            ),
            "revoked_at": None,
        },
    )
    if personal is None:
        invoice = settle_trade_by_invoice(session=session, trade=trade, fee_bps=fee_bps)
        card_payments.charge_trade(session=session, trade=trade, invoice=invoice)
        settle_invoices_from_deposit(session=session, buyer_id=trade.buyer_id)
    else:
        if not ref_key:
            raise RuntimeError("a trade of personal records needs the person-reference key")
        session.flush()
        # In this transaction: provided (and invoiced per record) now, or provisional until the
        # board or the person decides; a refusal here refuses the whole order (nothing stored).
        book_personal_trade(
            session=session,
            trade=trade,
            listing=listing,
            personal=personal,
            purpose=bid.purpose,
            now=trade.created_at,
            ref_key=ref_key,
            fee_bps=fee_bps,
        )
    record_event(
        session,
        "TradeExecuted",
        {
            "trade_id": trade.id,
            "instrument": trade.instrument,
            "price_yen": trade.price_yen,
            "quantity": trade.quantity,
            "dataset_id": trade.dataset_id,
        },
    )
    return trade


@functools.cache
def _personal_statement() -> Select[Any]:
    """Whether a listing is of PDS records, bound to `key` (its id)."""
    return core_select(col(PersonalListing.listing_id)).where(
        col(PersonalListing.listing_id) == bindparam("key")
    )


def _personal_listing(session: Session, listing_id: str) -> PersonalListing | None:
    """The listing's PDS record listing, if it is one; an ORM object only when it is (the
    rare case): most trades are of datasets."""
    if loaded_or_read(session, PersonalListing, listing_id, _personal_statement()) is None:
        return None
    return session.get(PersonalListing, listing_id)


@functools.cache
def _insert_licence() -> Insert:
    return insert(Licence.__table__)  # type: ignore[attr-defined]
