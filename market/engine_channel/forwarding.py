"""The order desk of a worker process: trading commands go to the engine owner.

A worker serves the API beside other workers while one engine owner (another process) runs the
matching engine. Its order desk takes the same calls as the owner's (market/trading/desk.py),
sends each as a typed command over the engine channel, waits for the owner's answer (the ids of
what its transaction committed, or the problem it raised), then reads those rows back from the
database, so the API answers exactly as a single process would. The worker never takes the
single-owner lock and never touches the engine.
"""

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, col, select

from market import db, idempotency
from market.banks import orders as personal_orders
from market.engine_channel.codec import (
    EngineChannelUnavailable,
    ForwardedFailure,
    decode_answers,
    decode_problem,
    encode_items,
    encode_order,
)
from market.models import Bid, Listing, Participant, Trade
from market.trading.batch import BatchAnswer, BatchItem
from market.trading.commands import OfferLicences, OfferRecords, PlaceBid
from market.trading.desk import BidOutcome, OrderDesk
from market.trading.risk import RiskStage

T = TypeVar("T")
log = logging.getLogger("datamarket.engine_channel")


class Channel(Protocol):
    def call(self, message: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class EngineInOwnerOnly(EngineChannelUnavailable):
    """Work that drives the engine directly runs only in the engine owner's process."""

    title = "This request runs only in the engine owner"


class ForwardedRisk(RiskStage):
    """The risk stage as a worker sees it: reservations live in the owner and are asked for."""

    def __init__(self, call: Callable[..., dict[str, Any]]) -> None:
        super().__init__()
        self._call = call

    def reserved_yen(self, buyer_id: str) -> int:
        return int(self._call("reserved_yen", buyer_id, {})["yen"])


class ForwardingOrderDesk(OrderDesk):
    """Takes the order desk's calls and forwards each one to the engine owner."""

    def __init__(self, *args: Any, channel: Callable[[], Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open_channel = channel
        self._channel: Channel | None = None
        self._refreshed_by_owner = False
        self.risk = ForwardedRisk(self._call)

    # ownership: none; the owner is another process
    def open(self) -> None:
        self._channel = self._open_channel()
        self.running = True
        # Market.start refreshes PDS listings next; the owner already did when it started.
        self._refreshed_by_owner = True

    def close(self) -> None:
        self.running = False
        channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()

    def restore(self) -> None:
        """Nothing to restore: this process holds no engine."""

    def transaction(self, work: Callable[[Session], T], *, orders: int = 1) -> T:
        """Run another desk's work (a rating, a revision, a PDS decision) here, in a plain
        unit of work: it commits when it needs no engine command; one that does is refused
        with `EngineInOwnerOnly` and rolled back (`submit` below). `orders` counts nothing
        here: no sequencer batches this process's work."""
        if not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")
        with db.unit_of_work(self.db) as session:
            result = work(self.bind(session))
        self.after_commit()
        return result

    def submit(self, session: Session, command: Any | None) -> list[Any]:
        raise EngineInOwnerOnly(
            "this request changes the order book through the matching engine, which only the "
            "engine owner process does here; send it to the owner's address (docs/operations.md)"
        )

    def tick_if_due(self) -> None:
        return None  # the owner's clock ticks the engine

    def snapshot_if_due(self) -> int:
        return 0

    # asks and bids
    def place_bid(
        self, *, buyer: Participant, order: PlaceBid, claim: idempotency.Claim | None = None
    ) -> BidOutcome:
        reply = self._call(
            "place_bid", buyer.id, {"order": encode_order(order)}, command_id=_claimed_id(claim)
        )
        return self._completed(claim, self._bid_outcome(reply))

    def offer_licences(
        self, *, seller: Participant, offer: OfferLicences, claim: idempotency.Claim | None = None
    ) -> Listing:
        reply = self._call(
            "offer_licences", seller.id, {"order": encode_order(offer)}, _claimed_id(claim)
        )
        return self._completed(claim, self._row(Listing, reply["listing_id"]))

    def offer_records(
        self, *, seller: Participant, offer: OfferRecords, claim: idempotency.Claim | None = None
    ) -> Listing:
        reply = self._call(
            "offer_records", seller.id, {"order": encode_order(offer)}, _claimed_id(claim)
        )
        return self._completed(claim, self._row(Listing, reply["listing_id"]))

    def refresh_personal_listings(self) -> list[Trade]:
        if not self.running or self._refreshed_by_owner:
            self._refreshed_by_owner = False
            return []
        with Session(self.db) as session:
            if not personal_orders.open_personal_listings(session=session):
                return []
        try:
            reply = self._call("refresh_personal_listings", None, {})
        except EngineChannelUnavailable as exc:
            # The change committed; the owner also refreshes on its own clock.
            log.warning("personal listings not refreshed: %s", type(exc).__name__)
            return []
        return self._trades(reply["trade_ids"])

    # amendments and cancels
    async def place_bid_async(self, *, buyer: Participant, order: PlaceBid) -> BidOutcome:
        """Forwarded over a blocking channel: in a worker thread."""
        return await asyncio.to_thread(self.place_bid, buyer=buyer, order=order)

    async def cancel_bid_async(self, *, buyer: Participant, bid_id: str) -> Bid:
        return await asyncio.to_thread(self.cancel_bid, buyer=buyer, bid_id=bid_id)

    def cancel_bid(
        self, *, buyer: Participant, bid_id: str, claim: idempotency.Claim | None = None
    ) -> Bid:
        reply = self._call("cancel_bid", buyer.id, {"bid_id": bid_id}, _claimed_id(claim))
        return self._completed(claim, self._row(Bid, reply["bid_id"]))

    def cancel_listing(self, *, seller: Participant, listing_id: str) -> Listing:
        reply = self._call("cancel_listing", seller.id, {"listing_id": listing_id})
        return self._row(Listing, reply["listing_id"])

    def amend_bid(
        self,
        *,
        buyer: Participant,
        bid_id: str,
        max_price_yen: int | None = None,
        quantity: int | None = None,
    ) -> BidOutcome:
        args = {"bid_id": bid_id, "max_price_yen": max_price_yen, "quantity": quantity}
        return self._bid_outcome(self._call("amend_bid", buyer.id, args))

    def amend_listing(
        self,
        *,
        seller: Participant,
        listing_id: str,
        price_yen: int | None = None,
        licence_count: int | None = None,
    ) -> Listing:
        args = {"listing_id": listing_id, "price_yen": price_yen, "licence_count": licence_count}
        reply = self._call("amend_listing", seller.id, args)
        return self._row(Listing, reply["listing_id"])

    def enter_batch(self, *, participant: Participant, items: list[BatchItem]) -> list[BatchAnswer]:
        reply = self._call("enter_batch", participant.id, {"items": encode_items(items)})
        return decode_answers(reply["answers"])

    # trading modes and auctions (operators)
    def set_trading_mode(
        self, *, instrument: str, mode: str, interval_seconds: int | None = None
    ) -> list[Trade]:
        args = {"instrument": instrument, "mode": mode, "interval_seconds": interval_seconds}
        return self._trades(self._call("set_trading_mode", None, args)["trade_ids"])

    def run_auction(self, *, instrument: str, reference_price: int | None = None) -> list[Trade]:
        args = {"instrument": instrument, "reference_price": reference_price}
        return self._trades(self._call("run_auction", None, args)["trade_ids"])

    # the channel and reading back what the owner committed
    def _call(
        self,
        op: str,
        participant_id: str | None,
        args: dict[str, Any],
        command_id: str | None = None,
    ) -> dict[str, Any]:
        channel = self._channel
        if channel is None or not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")
        message = {
            "id": command_id or uuid.uuid4().hex,
            "op": op,
            "participant_id": participant_id,
            "args": args,
        }
        answer = channel.call(message)
        if "problem" in answer:
            raise decode_problem(answer["problem"])
        ok: dict[str, Any] = answer["ok"]
        return ok

    def _completed(self, claim: idempotency.Claim | None, result: T) -> T:
        """Store the rendered response under the client's Idempotency-Key, as the owner would."""
        if claim is not None:
            with db.unit_of_work(self.db) as session:
                claim.complete(session, result)
        return result

    def _bid_outcome(self, reply: dict[str, Any]) -> BidOutcome:
        return BidOutcome(self._row(Bid, reply["bid_id"]), self._trades(reply["trade_ids"]))

    def _row(self, model: type[T], row_id: str) -> T:
        with Session(self.db) as session:
            row = session.get(model, row_id)
        if row is None:
            raise ForwardedFailure("the engine owner answered with a row that is not stored")
        return row

    def _trades(self, ids: list[str]) -> list[Trade]:
        if not ids:
            return []
        with Session(self.db) as session:
            found = {t.id: t for t in session.exec(select(Trade).where(col(Trade.id).in_(ids)))}
        return [found[i] for i in ids if i in found]


def _claimed_id(claim: idempotency.Claim | None) -> str | None:
    """The command id of a request sent with an Idempotency-Key: the same on every retry, so
    a retry after this worker died is answered from the owner's stored result."""
    if claim is None:
        return None
    return hashlib.sha256(f"{claim.participant_id}\0{claim.key}".encode()).hexdigest()[:32]
