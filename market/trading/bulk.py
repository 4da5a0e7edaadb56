"""Bulk order entry's fast path: one request's orders checked together and applied in one job.

`BulkEntry.run` is one unit of trading work for a whole `POST /orders/batch` request. It loads
once what every order needs (the participant's idempotency records for the request's ids, the
registered instruments, the bids named by cancels, the buyer's credit and held licences) and
then takes the orders in turn:

- a plain bid (no named dataset, on an instrument without PDS listings, within the buyer's
  credit) and a cancel of one of the participant's open bids are checked from what was loaded
  and applied to the engine (its clock advanced once per request); while the engine only rests
  the bid (or takes an IOC bid out unfilled) or takes the cancelled one out, its rows (journal,
  bid, status change, idempotency record) wait and are written at the end, or before the next
  order that needs the database, with one Core statement per table;
- a bid that trades (or meets anything else in the book) has its row written at once and its
  events booked by the market's booking code (trades, licences, invoices, ledger, outbox). The
  rows waiting stay waiting when every event concerns only that bid (its trades against asks),
  since booking then reads none of them and writes no journal row; otherwise they are written
  first;
- a single cancel (`DELETE /bids/{id}`, `BulkEntry.cancel`) takes the same path: the bid's row
  read by one prebuilt select, refused as the per-order path refuses, then taken out of the
  engine with its journal rows and status change written by Core (its events booked instead
  when the clock tick before it did more than the cancel);
- every other order (asks, bids naming a dataset or needing a card, refusals the database
  explains) runs the per-order unit of work in a savepoint, after the rows waiting so far.

Each order is atomic on its own. An order that fails after it reached the engine cannot be undone
in this transaction: the job raises `BulkAborted`, the sequencer rebuilds the engine, and the desk
enters the request's orders one by one (`OrderDesk.enter_batch`).
"""

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, Select, Update, bindparam, insert, update
from sqlalchemy import select as core_select
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

import matching
from market.banks.tables import PersonalListing
from market.errors import Conflict, MarketError, NotFound, OrderRejected
from market.models import (
    Bid,
    IdempotencyRecord,
    Instrument,
    Listing,
    Participant,
    Trade,
    new_id,
    utcnow,
)
from market.revisions.entitlement import held_datasets
from market.settlement import credit
from market.settlement.invoices import insert_now, terms_of
from market.trading.batch import BatchAnswer, BatchItem, CancelOrder
from market.trading.commands import PlaceBid
from market.trading.listings import (
    OrderKindMismatch,
    bid_command,
    cancel_reason,
    require_bid_fields,
)
from market.trading.risk import RiskStage, worst_case_yen
from market.trading.service import TradingService
from market.trading.standing import standing

log = logging.getLogger("datamarket.market")

# Bound parameters per IN (...) list: below SQLite's and PostgreSQL's limits.
CHUNK = 500
CANCELLED_BY_OWNER = "cancelled by its owner"


class BulkAborted(RuntimeError):
    """An order failed after reaching the engine: nothing of this job may commit."""


@dataclass
class BulkDesk:
    """What the fast path uses of the order desk (market/trading/desk.py)."""

    trading: TradingService
    risk: RiskStage
    book: Callable[..., tuple[list[Trade], OrderRejected | None]]
    one_by_one: Callable[[Participant, BatchItem], Callable[[Session], BatchAnswer]]
    known_instruments: set[str]
    pds_instruments: set[str]


@dataclass
class _Pending:
    """Rows of orders that only rested or left the book, written together."""

    trading: TradingService
    journal: list[dict[str, Any]] = field(default_factory=list)
    bids: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def write(self, session: Session) -> None:
        """Insert what waits, after the session's own pending rows (the journal keeps its order).

        The rows stand for what the engine already did: when they cannot be written, the
        engine is marked touched, so nothing of the transaction commits and it is rebuilt.
        """
        try:
            session.flush()
            self.trading.insert_journal(session, self.journal)
            if self.bids:
                session.execute(_insert_bids(), self.bids)
            if self.cancelled:
                session.execute(_cancel_bids(), self.cancelled)
                _expire_loaded(session, [row["order_id"] for row in self.cancelled])
            if self.records:
                session.execute(insert_records(), self.records)
        except BaseException:
            self.trading.touched = True
            raise
        self.bids, self.cancelled, self.records = [], [], []

    def holds(self, bid_id: str) -> bool:
        """Whether a row of this bid (its insert or its cancel) waits here."""
        return any(row["id"] == bid_id for row in self.bids) or any(
            row["order_id"] == bid_id for row in self.cancelled
        )


@dataclass
class _Reads:
    """What one participant's orders read once and keep until something is booked: the credit
    base (limit and deposits less unpaid invoices) and the held datasets by (instrument, purpose)."""

    base_yen: int | None = None
    held: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def forget(self) -> None:
        self.base_yen = None
        self.held.clear()


# The key of a sequencer batch's `SharedBatch` in its session's info.
SHARED_BATCH = "trading_shared_batch"


@dataclass
class SharedBatch:
    """What the single orders of one sequencer batch share on bulk entry's path.

    A batch of several requests runs in one transaction (market/trading/desk.py `_run_batch`):
    the plain bids and cancels among them keep their rows waiting in one `_Pending`, written
    with one statement per table before any other job of the batch and at its end, and read
    credit and held licences once per participant until something is booked.
    """

    pending: _Pending
    cards: bool
    reads: dict[str, _Reads] = field(default_factory=dict)

    @classmethod
    def start(cls, trading: TradingService, *, cards: bool) -> "SharedBatch":
        return cls(_Pending(trading), cards)

    def reads_of(self, participant_id: str) -> _Reads:
        found = self.reads.get(participant_id)
        if found is None:
            found = self.reads[participant_id] = _Reads()
        return found

    def forget(self) -> None:
        """Something was booked: every participant's credit and held licences are read again."""
        for reads in self.reads.values():
            reads.forget()


# Statements built once: building one costs more than running it (issue 14).
@functools.cache
def _insert_bids() -> Insert:
    return insert(Bid.__table__)  # type: ignore[attr-defined]


@functools.cache
def _cancel_bids() -> Update:
    bid_table = Bid.__table__  # type: ignore[attr-defined]
    return (
        update(bid_table)
        .where(bid_table.c.id == bindparam("order_id"), bid_table.c.status == "open")
        .values(status="cancelled", status_reason=CANCELLED_BY_OWNER)
    )


@functools.cache
def insert_records() -> Insert:
    return insert(IdempotencyRecord.__table__)  # type: ignore[attr-defined]


@functools.cache
def _bid_by_id() -> Select[Any]:
    bid_table = Bid.__table__  # type: ignore[attr-defined]
    return core_select(bid_table).where(bid_table.c.id == bindparam("bid_id"))


def _expire_loaded(session: Session, bid_ids: list[str]) -> None:
    """Bids this session already loaded are read again: an earlier job of the same batch
    may hold one whose status the Core update just changed."""
    if not session.identity_map:
        return
    for bid_id in bid_ids:
        loaded = session.identity_map.get(identity_key(Bid, bid_id))
        if loaded is not None:
            session.expire(loaded)


@dataclass(frozen=True)
class CancelledBid:
    """A bid the fast path cancelled: its row as read before the status change."""

    row: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.row["id"])

    def bid(self) -> Bid:
        """The bid as stored now (its status changed by `_Pending.write`)."""
        return Bid(**{**self.row, "status": "cancelled", "status_reason": CANCELLED_BY_OWNER})


@dataclass
class Placed:
    """A plain bid entered by the fast path: its row (as stored, or its booked object when it
    met the book), what it bought, and the engine's refusal if it refused it."""

    row: dict[str, Any]
    trades: list[Trade]
    rejection: OrderRejected | None
    booked: Bid | None = None

    @property
    def bid_id(self) -> str:
        return str(self.row["id"])

    def stored(self) -> Bid | dict[str, Any]:
        """The bid as stored: its booked object when it met the book, else its row (no ORM
        object is built for it: `BidOutcome.bid` builds one when asked)."""
        return self.booked if self.booked is not None else self.row


class BulkEntry:
    """One request's orders, entered in one unit of trading work (see the module docstring)."""

    def __init__(
        self,
        desk: BulkDesk,
        participant: Participant,
        items: list[BatchItem],
        shared: SharedBatch | None = None,
    ) -> None:
        self.desk = desk
        self.participant = participant
        self.items = items
        self.shared = shared
        self.pending = shared.pending if shared is not None else _Pending(desk.trading)
        self._ticked = False
        # Answers given in this job by key, so a repeated id in one request is answered alike.
        self.answered: dict[str, tuple[str, dict[str, Any]]] = {}
        self._reads = shared.reads_of(participant.id) if shared is not None else _Reads()
        self._open_bids: dict[str, tuple[str, str]] = {}
        self.cards = shared.cards if shared is not None else False

    def run(self, session: Session) -> list[BatchAnswer]:
        """Enter every order; answers in order (raises BulkAborted, see the module docstring)."""
        stored = self._load(session)
        answers: list[BatchAnswer] = []
        for item in self.items:
            key = f"order:{item.client_order_id}"
            earlier = self.answered.get(key) or stored.get(key)
            if earlier is not None:
                answers.append(self._repeat(item, earlier))
                continue
            answer = self._enter(session, item)
            if answer.status != "rejected" or answer.order_id is not None:
                self.answered[key] = (item.request_hash, answer.stored())
            answers.append(answer)
        self.pending.write(session)
        return answers

    # what the job loads once
    def _load(self, session: Session) -> dict[str, tuple[str, dict[str, Any] | None]]:
        keys = [f"order:{item.client_order_id}" for item in self.items]
        stored: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for chunk in _chunks(keys):
            for record in session.exec(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.participant_id == self.participant.id,
                    col(IdempotencyRecord.key).in_(chunk),
                )
            ):
                stored[record.key] = (record.request_hash, record.response)
        bids = [i.order for i in self.items if isinstance(i.order, PlaceBid)]
        unknown = {b.instrument for b in bids} - self.desk.known_instruments
        for chunk in _chunks(sorted(unknown)):
            self.desk.known_instruments.update(
                session.exec(select(Instrument.name).where(col(Instrument.name).in_(chunk)))
            )
        cancels = [
            i.order.order_id
            for i in self.items
            if isinstance(i.order, CancelOrder) and i.order.side == "bid"
        ]
        for chunk in _chunks(cancels):
            for order_id, buyer_id, instrument in session.exec(
                select(Bid.id, Bid.buyer_id, Bid.instrument).where(
                    col(Bid.id).in_(chunk), Bid.status == "open"
                )
            ):
                self._open_bids[order_id] = (buyer_id, instrument)
        self.cards = terms_of(session).card_payments
        return stored

    def _repeat(self, item: BatchItem, earlier: tuple[str, dict[str, Any] | None]) -> BatchAnswer:
        request_hash, response = earlier
        if request_hash != item.request_hash or response is None:
            return BatchAnswer.refused(
                item.client_order_id,
                Conflict(
                    f"client_order_id {item.client_order_id} was already used for a "
                    "different order; use a new id"
                ),
            )
        return BatchAnswer.from_stored(response)

    # one order
    def _enter(self, session: Session, item: BatchItem) -> BatchAnswer:
        order = item.order
        if isinstance(order, PlaceBid) and self._plain(order):
            try:
                require_bid_fields(
                    max_price_yen=order.max_price_yen,
                    quantity=order.quantity,
                    time_in_force=order.time_in_force,
                    min_quality=order.min_quality,
                    purpose=order.purpose,
                )
            except MarketError as exc:
                return BatchAnswer.refused(item.client_order_id, exc)
            answer = self._bid(session, item, order)
            if answer is not None:
                return answer
        elif isinstance(order, CancelOrder) and self._cancellable(order):
            return self._cancel(session, item, order)
        return self._one_by_one(session, item)

    def _plain(self, order: PlaceBid) -> bool:
        return (
            order.dataset_id is None
            and order.instrument in self.desk.known_instruments
            and order.instrument not in self.desk.pds_instruments
        )

    def _bid(self, session: Session, item: BatchItem, order: PlaceBid) -> BatchAnswer | None:
        """A plain bid from memory; None when its credit needs the per-order path (the card
        fallback, or the refusal that explains the limit)."""
        try:
            placed = self.place(session, order)
        except OrderRejected as exc:
            return BatchAnswer.refused(item.client_order_id, exc)
        if placed is None:
            return None
        stored = placed.stored()
        answer = BatchAnswer.placed(
            item.client_order_id,
            placed.bid_id,
            placed.trades,
            placed.rejection,
            stored_status=stored.status if isinstance(stored, Bid) else stored["status"],
        )
        self._record(item, answer)
        return answer

    def place(self, session: Session, order: PlaceBid) -> "Placed | None":
        """Enter one plain bid (checked with `require_bid_fields` by the caller); None when its
        credit needs the per-order path. A bid over the engine's size limits raises
        OrderRejected before anything is journaled."""
        buyer = self.participant
        reads, key = self._reads, (order.instrument, order.purpose)
        if reads.base_yen is None and key not in reads.held:
            reads.base_yen, reads.held[key] = standing(
                session=session,
                buyer=buyer,
                instrument=order.instrument,
                purpose=order.purpose,
                now=utcnow(),
            )
        exposure = worst_case_yen(order.max_price_yen, order.quantity)
        if exposure > self._available_yen(session):
            return None
        row = plain_bid_row(buyer, order)
        command = bid_command(
            bid_id=row["id"],
            buyer=buyer,
            instrument=order.instrument,
            max_price_yen=order.max_price_yen,
            quantity=order.quantity,
            time_in_force=order.time_in_force,
            purpose=order.purpose,
            constraints=row["constraints"],
            held=self._held_datasets(session, order),
        )
        problem = matching.size_problem(command)
        if problem is not None:
            raise OrderRejected(problem)
        # The reservation is in-memory state like the engine's: a failure after it rebuilds.
        self.desk.trading.touched = True
        self.desk.risk.reserve(
            order_id=row["id"],
            buyer_id=buyer.id,
            price_yen=order.max_price_yen,
            quantity=order.quantity,
        )
        events = self._submit(command, placed_id=row["id"])
        if self._book_alone(row, events):
            return Placed(row, [], None)
        try:
            # Booking writes no journal row, so the journal's rows keep waiting; the other
            # waiting rows are written first when the events concern more than this bid.
            if not _about(events, row["id"]):
                self.pending.write(session)
            bid = Bid(**row)
            insert_now(session, bid)  # a prepared insert: the unit of work costs more
            trades, rejection = self.desk.book(session, events, placed_id=row["id"])
        except Exception as exc:
            raise BulkAborted("a bid failed after reaching the engine") from exc
        self._bought(order, row["id"], trades)
        return Placed(row, trades, rejection, booked=bid)

    def _book_alone(self, row: dict[str, Any], events: list[Any]) -> bool:
        """Keep the bid's row for the Core insert when the engine only rested it, or took an
        IOC/FOK bid out unfilled (what `book_engine_events` would store); False otherwise."""
        bid_id = row["id"]
        if _only(events, matching.Accepted, bid_id):
            self.pending.bids.append(row)
            return True
        if (
            len(events) == 2
            and not self.cards
            and _only(events[:1], matching.Accepted, bid_id)
            and _only(events[1:], matching.Cancelled, bid_id)
        ):
            row["status"] = "cancelled"
            row["status_reason"] = cancel_reason(events[1].reason)[:300]
            self.pending.bids.append(row)
            return True
        return False

    def _submit(self, command: Any, placed_id: str | None = None) -> list[Any]:
        """Apply a command to the engine, its journal row kept for the Core insert; the first
        command of the job advances the engine clock (one tick per request)."""
        events = self.desk.trading.submit_deferred(
            command, self.pending.journal, tick=not self._ticked
        )
        self._ticked = True
        self.desk.risk.observe(events, placed_id=placed_id)
        return events

    def _cancellable(self, order: CancelOrder) -> bool:
        found = self._open_bids.get(order.order_id)
        if order.side != "bid" or found is None or self.cards:
            return False
        buyer_id, instrument = found
        book = self.desk.trading.engine.books.get(instrument)
        return buyer_id == self.participant.id and book is not None and book.is_live(order.order_id)

    def _cancel(self, session: Session, item: BatchItem, order: CancelOrder) -> BatchAnswer:
        _, instrument = self._open_bids.pop(order.order_id)
        events = self._submit(matching.Cancel(id=order.order_id, instrument=instrument))
        if _only(events, matching.Cancelled, order.order_id):
            self.pending.cancelled.append({"order_id": order.order_id})
        else:
            try:
                self.pending.write(session)
                _, rejection = self.desk.book(session, events)
            except Exception as exc:
                raise BulkAborted("a cancel failed after reaching the engine") from exc
            if rejection is not None:
                raise BulkAborted("the engine refused a cancel of an open bid") from rejection
            self._forget()
        answer = BatchAnswer.placed(
            item.client_order_id, order.order_id, [], None, status="cancelled"
        )
        self._record(item, answer)
        return answer

    def cancel(self, session: Session, bid_id: str) -> Bid | CancelledBid | None:
        """Cancel one of the participant's bids by itself (`DELETE /bids/{id}`), refused as
        `make_cancel` refuses before the engine sees it. The answer is its row (`CancelledBid`)
        when only its status changed, the booked bid when the clock tick did more, and None
        when the per-order path must cancel it (card payments on, or not live in the book)."""
        if self.pending.holds(bid_id):
            self.pending.write(session)  # placed or cancelled earlier in this batch
        found = session.execute(_bid_by_id(), {"bid_id": bid_id}).mappings().first()
        if found is None:
            raise OrderKindMismatch(f"you have no bid {bid_id}")
        if found["buyer_id"] != self.participant.id:
            raise NotFound(f"you have no bid {bid_id}")
        if found["status"] != "open":
            raise Conflict(f"order {bid_id} is {found['status']} and can no longer be cancelled")
        instrument = found["instrument"]
        book = self.desk.trading.engine.books.get(instrument)
        if self.cards or book is None or not book.is_live(bid_id):
            return None
        events = self._submit(matching.Cancel(id=bid_id, instrument=instrument))
        if _only(events, matching.Cancelled, bid_id) and events[0].reason == "cancelled":
            self.pending.cancelled.append({"order_id": bid_id})
            if self.shared is None:
                self.pending.write(session)
            return CancelledBid(dict(found))
        # The clock tick did more (an expiry, an auction): booked as the per-order path books.
        self.pending.write(session)
        _, rejection = self.desk.book(session, events)
        self._forget()
        if rejection is not None:
            raise rejection
        cancelled = session.get(Bid, bid_id)
        if cancelled is None:
            raise NotFound(f"order {bid_id} does not exist")
        return cancelled

    def _one_by_one(self, session: Session, item: BatchItem) -> BatchAnswer:
        """The per-order unit of work in a savepoint, after the rows waiting so far."""
        self.pending.write(session)
        trading = self.desk.trading
        touched_before, trading.touched = trading.touched, False
        try:
            with session.begin_nested():
                return self.desk.one_by_one(self.participant, item)(session)
        except MarketError as exc:
            if trading.touched:
                raise BulkAborted("an order was refused after reaching the engine") from exc
            return BatchAnswer.refused(item.client_order_id, exc)
        except Exception as exc:
            if trading.touched:
                raise BulkAborted("an order failed after reaching the engine") from exc
            log.error("batch order failed: %s", type(exc).__name__)
            return BatchAnswer.failed(item.client_order_id)
        finally:
            trading.touched = touched_before or trading.touched
            self._forget()

    # what the job keeps in memory
    def _available_yen(self, session: Session) -> int:
        """What the buyer may still commit: credit limit and deposits less unpaid invoices
        (read once per job, again after anything booked), less every open bid's reservation."""
        reads = self._reads
        if reads.base_yen is None:
            reads.base_yen = credit.available_yen(
                session=session, buyer=self.participant, reserved_yen=0
            )
        return reads.base_yen - self.desk.risk.reserved_yen(self.participant.id)

    def _held_datasets(self, session: Session, order: PlaceBid) -> frozenset[str]:
        key = (order.instrument, order.purpose)
        held = self._reads.held.get(key)
        if held is None:
            held = held_datasets(
                session=session,
                buyer=self.participant,
                instrument=order.instrument,
                purpose=order.purpose,
            )
            self._reads.held[key] = held
        return held

    def _bought(self, order: PlaceBid, bid_id: str, trades: list[Trade]) -> None:
        """This bid traded: credit is read again; the licences it bought (live, of the current
        revision, for its purpose) join the held datasets of its instrument and purpose. A trade
        of another bid (an auction the clock ran) makes every held set be read again."""
        if any(trade.bid_id != bid_id for trade in trades):
            self._forget()
            return
        self._reads.base_yen = None
        key = (order.instrument, order.purpose)
        if key in self._reads.held:
            self._reads.held[key] = self._reads.held[key] | {trade.dataset_id for trade in trades}

    def _forget(self) -> None:
        """Something was booked: credit and held licences are read again. (The open bids
        loaded stay right: a bid leaves the book only through the engine, which is asked.)"""
        if self.shared is not None:
            self.shared.forget()
        else:
            self._reads.forget()

    def _record(self, item: BatchItem, answer: BatchAnswer) -> None:
        self.pending.records.append(
            {
                "participant_id": self.participant.id,
                "key": f"order:{item.client_order_id}",
                "request_hash": item.request_hash,
                "response": answer.stored(),
                "created_at": utcnow(),
            }
        )


def personal_listing_instruments(session: Session) -> set[str]:
    """Instruments that hold (or held) a listing of PDS records: their bids need the per-order
    path, which sizes a licence in records (market/banks/orders.py)."""
    query = (
        select(Listing.instrument)
        .join(PersonalListing, col(PersonalListing.listing_id) == col(Listing.id))
        .distinct()
    )
    return set(session.exec(query))


def _only(events: list[Any], kind: type, order_id: str) -> bool:
    return len(events) == 1 and isinstance(events[0], kind) and events[0].id == order_id  # type: ignore[attr-defined]


def plain_bid_row(buyer: Participant, order: PlaceBid) -> dict[str, Any]:
    """The row of a plain bid (every column of `Bid`, as its defaults would fill them)."""
    return {
        "id": new_id(),
        "buyer_id": buyer.id,
        "instrument": order.instrument,
        "max_price_yen": order.max_price_yen,
        "quantity": order.quantity,
        "filled": 0,
        "purpose": order.purpose,
        "time_in_force": order.time_in_force,
        "status": "open",
        "status_reason": None,
        "created_at": utcnow(),
        "records_per_licence": 1,
        "constraints": {
            "min_quality": order.min_quality,
            "min_k": order.min_k,
            "required_tags": sorted(set(order.required_tags or [])),
            "required_columns": sorted(set(order.required_columns or [])),
            "dataset_id": None,
            "min_term_days": order.min_term_days,
            "exclusive": order.exclusive,
            **({"confirms_linkable_consent": True} if order.confirms_linkable_consent else {}),
        },
    }


def _about(events: list[Any], bid_id: str) -> bool:
    """Whether every event concerns only the bid just placed (its acceptance, its trades against
    asks, its end): booking them reads and writes none of the rows waiting in `_Pending`."""
    for event in events:
        if isinstance(event, matching.TradeExecuted):
            if event.buy_id != bid_id:
                return False
        elif not (
            isinstance(event, (matching.Accepted, matching.Cancelled, matching.Rejected))
            and event.id == bid_id
        ):
            return False
    return True


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch
