"""The engine owner's side of the channel: run a forwarded command through the order desk.

Every command carries an id. A new order or a bid's cancel stores its answer under that id in
its own trading transaction (an `IdempotencyRecord` keyed `engine:<id>`, one prepared insert),
so a command delivered twice (a stream entry redelivered after the owner died before
acknowledging it, a worker retrying after its connection broke) is answered from what committed
and never applied twice. Listing cancels, amendments and auctions store their answer right after
their transaction commits; one redelivered inside that gap runs again and finds its order
already cancelled or amended.
"""

import functools
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from market import db, idempotency
from market.engine_channel.codec import (
    decode_items,
    decode_order,
    dumps,
    encode_answers,
    encode_problem,
)
from market.errors import InvalidRequest, MarketError, NotFound
from market.models import Bid, IdempotencyRecord, Listing, Participant, Trade, utcnow
from market.participants import stored_participant
from market.trading.bulk import CancelledBid, insert_records
from market.trading.commands import OfferLicences, OfferRecords, PlaceBid
from market.trading.desk import BidOutcome, OrderDesk

log = logging.getLogger("datamarket.engine_channel")
MAX_COMMAND_ID = 64


def trade_ids(trades: list[Trade]) -> list[str]:
    return [trade.id for trade in trades]


class CommandHandler:
    """Runs the commands that worker processes forward, through this process's order desk."""

    def __init__(self, orders: OrderDesk, engine: Engine) -> None:
        self.orders = orders
        self.db = engine

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """The answer to one message: {"ok": ids} or {"problem": the domain error}."""
        try:
            return {"ok": self._run(message)}
        except Exception as exc:
            if not isinstance(exc, MarketError):
                log.error("forwarded command failed: %s", type(exc).__name__)
            return {"problem": encode_problem(exc)}

    def _run(self, message: dict[str, Any]) -> dict[str, Any]:
        op = message.get("op")
        command_id = message.get("id")
        if not isinstance(command_id, str) or not 1 <= len(command_id) <= MAX_COMMAND_ID:
            raise InvalidRequest("an engine command needs an id of 1 to 64 characters")
        args: dict[str, Any] = message.get("args") or {}
        if op == "reserved_yen":
            return {"yen": self.orders.risk.reserved_yen(str(message["participant_id"]))}
        if op == "refresh_personal_listings":
            return {"trade_ids": trade_ids(self.orders.refresh_personal_listings())}
        if op in ("set_trading_mode", "run_auction"):
            # An operator's command, not a participant's order: run as sent (docs/operations.md).
            return self._apply(op, None, args)
        participant = self._participant(str(message.get("participant_id")))
        key = f"engine:{command_id}"
        stored = self._stored(participant.id, key)
        if stored is not None:
            return stored
        if op in ("place_bid", "offer_licences", "offer_records"):
            return self._new_order(participant, key, _hash(message), decode_order(args["order"]))
        if op == "cancel_bid":
            # Like a new order, the answer commits with the cancel itself.
            claim = CommandClaim(participant.id, key, _render_reply, request_hash=_hash(message))
            cancelled = self.orders.cancel_bid(
                buyer=participant, bid_id=args["bid_id"], claim=claim
            )
            return claim.response if claim.response is not None else _reply_of(cancelled)
        reply = self._apply(str(op), participant, args)
        self._store(participant.id, key, _hash(message), reply)
        return reply

    def _new_order(
        self, participant: Participant, key: str, request_hash: str, order: Any
    ) -> dict[str, Any]:
        claim = CommandClaim(participant.id, key, _render_reply, request_hash=request_hash)
        if isinstance(order, PlaceBid):
            result: Any = self.orders.place_bid(buyer=participant, order=order, claim=claim)
        elif isinstance(order, OfferLicences):
            result = self.orders.offer_licences(seller=participant, offer=order, claim=claim)
        elif isinstance(order, OfferRecords):
            result = self.orders.offer_records(seller=participant, offer=order, claim=claim)
        else:
            raise InvalidRequest("a cancel is not a new order")
        return claim.response if claim.response is not None else _reply_of(result)

    def _apply(self, op: str, participant: Any, args: dict[str, Any]) -> dict[str, Any]:
        orders = self.orders
        if op == "cancel_bid":
            return {"bid_id": orders.cancel_bid(buyer=participant, bid_id=args["bid_id"]).id}
        if op == "cancel_listing":
            listing = orders.cancel_listing(seller=participant, listing_id=args["listing_id"])
            return {"listing_id": listing.id}
        if op == "amend_bid":
            outcome = orders.amend_bid(
                buyer=participant,
                bid_id=args["bid_id"],
                max_price_yen=args.get("max_price_yen"),
                quantity=args.get("quantity"),
            )
            return _reply_of(outcome)
        if op == "amend_listing":
            listing = orders.amend_listing(
                seller=participant,
                listing_id=args["listing_id"],
                price_yen=args.get("price_yen"),
                licence_count=args.get("licence_count"),
            )
            return {"listing_id": listing.id}
        if op == "enter_batch":
            items = decode_items(args["items"])
            return {
                "answers": encode_answers(orders.enter_batch(participant=participant, items=items))
            }
        if op == "set_trading_mode":
            trades = orders.set_trading_mode(
                instrument=args["instrument"],
                mode=args["mode"],
                interval_seconds=args.get("interval_seconds"),
            )
            return {"trade_ids": trade_ids(trades)}
        if op == "run_auction":
            trades = orders.run_auction(
                instrument=args["instrument"], reference_price=args.get("reference_price")
            )
            return {"trade_ids": trade_ids(trades)}
        raise InvalidRequest(f"unknown engine command {op!r}")

    def _participant(self, participant_id: str) -> Participant:
        """The participant as stored now (read by a prepared statement: every command asks)."""
        with self.db.connect() as connection:
            row = connection.execute(_participant_by_id(), {"id": participant_id}).mappings()
            found = row.first()
        if found is None:
            raise NotFound("the participant of this command does not exist")
        return stored_participant(found)

    def _stored(self, participant_id: str, key: str) -> dict[str, Any] | None:
        with self.db.connect() as connection:
            found = connection.execute(
                _stored_answer(), {"participant_id": participant_id, "key": key}
            ).first()
        return None if found is None else found[0]

    def _store(
        self, participant_id: str, key: str, request_hash: str, reply: dict[str, Any]
    ) -> None:
        try:
            with db.unit_of_work(self.db) as session:
                session.add(
                    IdempotencyRecord(
                        participant_id=participant_id,
                        key=key,
                        request_hash=request_hash,
                        response=reply,
                    )
                )
        except IntegrityError:
            pass  # the same command answered twice at once: the first answer stands


@dataclass
class CommandClaim(idempotency.Claim):
    """A forwarded command's answer, inserted by one prepared statement in the command's own
    trading transaction: the answer exists exactly when the command committed."""

    request_hash: str = ""

    def complete(self, session: Session, result: Any) -> None:
        self.response = self.render(session, result)
        row = {
            "participant_id": self.participant_id,
            "key": self.key,
            "request_hash": self.request_hash,
            "response": self.response,
            "created_at": utcnow(),
        }
        session.execute(insert_records(), [row])


@functools.cache
def _participant_by_id() -> Select[Any]:
    table = Participant.__table__  # type: ignore[attr-defined]
    return select(table).where(table.c.id == bindparam("id"))


@functools.cache
def _stored_answer() -> Select[Any]:
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    return select(table.c.response).where(
        table.c.participant_id == bindparam("participant_id"), table.c.key == bindparam("key")
    )


def _render_reply(_session: Session, result: Any) -> dict[str, Any]:
    return _reply_of(result)


def _reply_of(result: Any) -> dict[str, Any]:
    if isinstance(result, BidOutcome):
        return {"bid_id": result.bid.id, "trade_ids": trade_ids(result.trades)}
    if isinstance(result, Bid | CancelledBid):
        return {"bid_id": result.id}
    if isinstance(result, Listing):
        return {"listing_id": result.id}
    raise TypeError(f"no channel answer for {type(result).__name__}")


def _hash(message: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(message)).hexdigest()
