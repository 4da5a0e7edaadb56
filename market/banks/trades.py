"""Trades of personal records: provision at booking, then settlement or unwinding.

A trade on a PDS listing opens a provision request (`reference` = the trade id) in the same
transaction. Provided at once (a pool without 要配慮 data), it is invoiced at price per record
times records delivered. Waiting for a decision (the bank's data-ethics board, or the person in
self-control), it is provisional: nothing is delivered or invoiced (`ProvisionalTrade` keeps the
licences the engine traded). Approval settles it; a rejection or decline unwinds it: the licence
is revoked, nothing is invoiced, and the engine's journaled `Unwind` voids the trade in the order
book, all in one trading transaction (the desks submit the command `conclude` returns).
"""

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

import matching
from market.banks import pool
from market.banks.hooks import records_delivered, request_for_trade
from market.banks.orders import POOL
from market.banks.tables import PersonalListing, ProvisionalTrade
from market.events import record_event
from market.models import Licence, Listing, Participant, Trade
from market.personal import direct
from market.personal.provision import person_ref
from market.personal.requests import PROVIDED
from market.personal.tables import ProvisionRequest
from market.settlement.credit import settle_invoices_from_deposit
from market.settlement.invoices import settle_trade_by_invoice


def book_personal_trade(
    *,
    session: Session,
    trade: Trade,
    listing: Listing,
    personal: PersonalListing,
    purpose: str,
    now: datetime,
    ref_key: bytes,
    fee_bps: int,
) -> ProvisionRequest:
    """Open the trade's provision request; settle now if it provided, else leave it provisional."""
    buyer = session.get(Participant, trade.buyer_id)
    if personal.channel == POOL:
        request = pool.open_pool_request(
            session=session,
            recipient=_require(buyer),
            bank_id=personal.holder_id,
            purpose=purpose,
            categories=personal.categories,
            price_per_record_yen=trade.price_yen,
            term_days=listing.term_days,
            min_cohort=personal.min_cohort,
            reference=trade.id,
            now=now,
            ref_key=ref_key,
        )
    else:
        request = direct.open_direct_request(
            session=session,
            recipient=_require(buyer),
            person_id=personal.holder_id,
            purpose=purpose,
            categories=personal.categories,
            price_per_record_yen=trade.price_yen,
            term_days=listing.term_days,
            reference=trade.id,
            now=now,
        )
    licences = trade.quantity
    # Until provided, the trade delivers no record, so it owes nothing.
    trade.quantity = 0
    session.add(trade)
    if request.status == PROVIDED:
        settle(session=session, trade=trade, request=request, fee_bps=fee_bps)
    else:
        session.add(
            ProvisionalTrade(
                trade_id=trade.id, request_id=request.id, licences=licences, created_at=now
            )
        )
        record_event(
            session,
            "TradeProvisional",
            {"trade_id": trade.id, "request_id": request.id, "status": request.status},
        )
    return request


def settle(*, session: Session, trade: Trade, request: ProvisionRequest, fee_bps: int) -> None:
    """Invoice the records delivered: the trade's quantity is their number, its price per record."""
    trade.quantity = records_delivered(session=session, request_id=request.id)
    session.add(trade)
    session.flush()
    settle_trade_by_invoice(session=session, trade=trade, fee_bps=fee_bps)
    settle_invoices_from_deposit(session=session, buyer_id=trade.buyer_id)


def conclude(
    *, session: Session, request: ProvisionRequest, now: datetime, fee_bps: int
) -> Any | None:
    """After a decision on a trade's request: settle it if provided, unwind it otherwise.

    Returns the engine command the caller submits in the same trading transaction: an `Unwind`
    of the trade when it is unwound, else None.
    """
    if request.reference is None:
        return None
    trade = session.get(Trade, request.reference)
    if trade is None:
        return None
    # A request is decided once (`require_pending`), so this runs once per trade. Trades booked
    # before provisional trades were kept traded one licence.
    provisional = session.get(ProvisionalTrade, trade.id) or ProvisionalTrade(
        trade_id=trade.id, request_id=request.id, licences=1, created_at=now
    )
    provisional.concluded_at = now
    provisional.status = "settled" if request.status == PROVIDED else "unwound"
    session.add(provisional)
    if request.status == PROVIDED:
        settle(session=session, trade=trade, request=request, fee_bps=fee_bps)
        return None
    licence = session.exec(select(Licence).where(Licence.trade_id == trade.id)).first()
    if licence is not None and licence.revoked_at is None:
        licence.revoked_at = now
        session.add(licence)
    listing = session.get(Listing, trade.listing_id)
    if listing is not None:
        # The ask sold nothing: the engine gives a limited ask its licences back as well.
        listing.licences_sold = max(0, listing.licences_sold - provisional.licences)
        session.add(listing)
    record_event(
        session,
        "TradeUnwound",
        {
            "trade_id": trade.id,
            "seq": trade.seq,
            "request_id": request.id,
            "status": request.status,
            "licence_id": licence.id if licence else None,
        },
    )
    return matching.Unwind(
        trade.instrument, trade.seq, trade.bid_id, trade.listing_id, provisional.licences
    )


def shown_seller_id(*, session: Session, trade: Trade, ref_key: bytes) -> str:
    """The seller as the buyer sees it: a person selling their own records only pseudonymously."""
    personal = session.get(PersonalListing, trade.listing_id)
    if personal is None or personal.channel == POOL:
        return trade.seller_id
    return person_ref(ref_key, trade.buyer_id, trade.seller_id)


def _require(buyer: Participant | None) -> Participant:
    if buyer is None:
        raise RuntimeError("the engine traded for a buyer the market does not know")
    return buyer


def trade_request(*, session: Session, trade_id: str) -> ProvisionRequest | None:
    return request_for_trade(session=session, trade_id=trade_id)
