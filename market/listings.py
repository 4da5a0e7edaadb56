"""Asks (listings) and bids: turning market requests into engine commands and booking the results."""

from datetime import timedelta
from typing import Any

from sqlmodel import Session

import matching
from market.datasets import get_dataset
from market.errors import Conflict, Forbidden, InvalidRequest, NotFound, OrderRejected
from market.events import record_event
from market.models import Bid, Licence, Listing, Participant, Trade
from market.purposes import UnknownPurpose, expand_purposes, require_leaf_purpose
from market.settlement import require_credit, settle_trade_by_invoice

TIME_IN_FORCE = ("GTC", "IOC", "FOK")


def instrument_of(category: str, data_class: str) -> str:
    """The order book a dataset trades in: its category and data class."""
    return f"{category}/{data_class}"


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
    if dataset.data_class == "personal":
        raise InvalidRequest(
            f"dataset {dataset_id} is personal data, which is never listed as such: anonymize it "
            "(POST /anonymization-jobs) and list the resulting 匿名加工情報"
        )
    if price_yen <= 0:
        raise InvalidRequest("price_yen must be a positive whole number of yen")
    if licence_count is not None and licence_count <= 0:
        raise InvalidRequest("licence_count must be positive, or null for unlimited licences")
    try:
        purposes = expand_purposes(allowed_purposes)
    except UnknownPurpose as exc:
        raise InvalidRequest(str(exc)) from None
    if not purposes:
        raise InvalidRequest("allowed_purposes must name at least one purpose (docs/purposes.md)")
    if exclusive and licence_count != 1:
        raise InvalidRequest("an exclusive licence is sold once: set licence_count to 1")
    if term_days is not None and term_days <= 0:
        raise InvalidRequest("term_days must be positive, or null for a perpetual licence")
    listing = Listing(
        dataset_id=dataset.id,
        seller_id=seller.id,
        instrument=instrument_of(dataset.category, dataset.data_class),
        price_yen=price_yen,
        licence_count=licence_count,
        allowed_purposes=sorted(purposes),
        allowed_recipients=sorted(set(allowed_recipients or [])),
        denied_recipients=sorted(set(denied_recipients or [])),
        term_days=term_days,
        exclusive=exclusive,
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
        terms=matching.AskTerms(
            dataset_id=dataset.id,
            data_class=dataset.data_class,
            quality=dataset.quality_score,
            k=dataset.privacy_k,
            tags=frozenset(dataset.tags),
            columns=frozenset(dataset.columns),
            allowed_purposes=purposes,
            allowed_recipients=frozenset(listing.allowed_recipients),
            denied_recipients=frozenset(listing.denied_recipients),
            term_days=term_days,
            exclusive=exclusive,
        ),
    )
    return listing, command


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
) -> tuple[Bid, Any]:
    """Create a bid (after the credit check) and the engine command that places it."""
    if max_price_yen <= 0:
        raise InvalidRequest("max_price_yen must be a positive whole number of yen")
    if quantity <= 0:
        raise InvalidRequest("quantity must be at least 1")
    if time_in_force not in TIME_IN_FORCE:
        raise InvalidRequest(f"time_in_force must be one of {', '.join(TIME_IN_FORCE)}")
    if not 0 <= min_quality <= 100:
        raise InvalidRequest("min_quality is a score from 0 to 100")
    try:
        require_leaf_purpose(purpose)
    except UnknownPurpose as exc:
        raise InvalidRequest(str(exc)) from None
    require_credit(session=session, buyer=buyer, exposure_yen=max_price_yen * quantity)
    constraints = {
        "min_quality": min_quality,
        "min_k": min_k,
        "required_tags": sorted(set(required_tags or [])),
        "required_columns": sorted(set(required_columns or [])),
        "dataset_id": dataset_id,
        "min_term_days": min_term_days,
        "exclusive": exclusive,
    }
    bid = Bid(
        buyer_id=buyer.id,
        instrument=instrument,
        max_price_yen=max_price_yen,
        quantity=quantity,
        purpose=purpose,
        time_in_force=time_in_force,
        constraints=constraints,
    )
    session.add(bid)
    session.flush()
    command = matching.Limit(
        id=bid.id,
        instrument=instrument,
        participant=buyer.id,
        side=matching.Side.BUY,
        price=max_price_yen,
        qty=quantity,
        tif=matching.TimeInForce[time_in_force],
        constraints=matching.BidConstraints(
            purpose=purpose,
            min_quality=min_quality,
            min_k=min_k,
            required_tags=frozenset(required_tags or []),
            required_columns=frozenset(required_columns or []),
            dataset_id=dataset_id,
            min_term_days=min_term_days,
            exclusive=exclusive,
            recipient_categories=frozenset(
                [f"category:{buyer.recipient_category}"] if buyer.recipient_category else []
            ),
        ),
    )
    return bid, command


def make_cancel(*, session: Session, participant: Participant, order_id: str) -> Any:
    """The engine command that withdraws one of the participant's open bids or listings."""
    order: Bid | Listing | None = session.get(Bid, order_id) or session.get(Listing, order_id)
    owner = None
    if isinstance(order, Bid):
        owner = order.buyer_id
    elif isinstance(order, Listing):
        owner = order.seller_id
    if order is None or owner != participant.id:
        raise NotFound(f"you have no order {order_id}")
    if order.status != "open":
        raise Conflict(f"order {order_id} is {order.status} and can no longer be cancelled")
    return matching.Cancel(id=order.id, instrument=order.instrument)


def book_engine_events(
    *, session: Session, events: list[Any], fee_bps: int
) -> tuple[list[Trade], OrderRejected | None]:
    """Turn engine events into trades, licences, invoices and order status changes."""
    trades: list[Trade] = []
    rejection: OrderRejected | None = None
    for event in events:
        if isinstance(event, matching.TradeExecuted):
            trades.append(_book_trade(session, event, fee_bps))
        elif isinstance(event, matching.Rejected):
            _set_status(session, event.id, "rejected")
            rejection = OrderRejected(f"the order was rejected: {event.reason}")
        elif isinstance(event, matching.Cancelled | matching.Expired):
            _set_status(
                session,
                event.id,
                "cancelled" if isinstance(event, matching.Cancelled) else "expired",
            )
    return trades, rejection


def _set_status(session: Session, order_id: str, status: str) -> None:
    order = session.get(Bid, order_id) or session.get(Listing, order_id)
    if order is not None and order.status == "open":
        order.status = status
        session.add(order)


def _book_trade(session: Session, event: Any, fee_bps: int) -> Trade:
    bid = session.get(Bid, event.buy_id)
    listing = session.get(Listing, event.sell_id)
    assert bid is not None and listing is not None, (
        "engine traded an order the market does not know"
    )
    trade = Trade(
        seq=event.seq,
        instrument=event.instrument,
        bid_id=bid.id,
        listing_id=listing.id,
        buyer_id=bid.buyer_id,
        seller_id=listing.seller_id,
        dataset_id=listing.dataset_id,
        price_yen=event.price,
        quantity=event.qty,
    )
    session.add(trade)
    session.flush()
    session.add(
        Licence(
            trade_id=trade.id,
            buyer_id=bid.buyer_id,
            dataset_id=listing.dataset_id,
            purpose=bid.purpose,
            exclusive=listing.exclusive,
            expires_at=(
                trade.created_at + timedelta(days=listing.term_days) if listing.term_days else None
            ),
        )
    )
    bid.filled += event.qty
    if bid.filled >= bid.quantity:
        bid.status = "filled"
    listing.licences_sold += event.qty
    if listing.licence_count is not None and listing.licences_sold >= listing.licence_count:
        listing.status = "sold_out"
    session.add_all([bid, listing])
    session.flush()
    settle_trade_by_invoice(session=session, trade=trade, fee_bps=fee_bps)
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
