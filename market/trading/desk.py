"""The order desk: every use case that drives the matching engine.

Each use case runs in one trading transaction: the engine lock is held, the fencing token is
checked, the engine command is journaled and applied, its events are booked (orders, trades,
licences, invoices, ledger, outbox) and everything commits together. When the transaction fails
after the engine applied a command, the engine is rebuilt from its snapshot and journal, so the
engine never holds what the database does not.
"""

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

import matching
from market import idempotency
from market.banks import orders as personal_orders
from market.banks.terms import PersonalTerms
from market.errors import Conflict, InvalidRequest, MarketError, NotFound, OrderRejected
from market.models import (
    Bid,
    IdempotencyRecord,
    Instrument,
    Listing,
    Participant,
    Trade,
    utcnow,
)
from market.outbox import NEW_EVENTS
from market.settings import Settings
from market.settlement import credit
from market.settlement.invoices import terms_of
from market.trading import instruments
from market.trading.batch import BatchAnswer, BatchItem
from market.trading.bulk import (
    SHARED_BATCH,
    BulkDesk,
    BulkEntry,
    CancelledBid,
    SharedBatch,
    personal_listing_instruments,
)
from market.trading.commands import LicenceTerms, OfferLicences, OfferRecords, PlaceBid
from market.trading.listings import (
    book_engine_events,
    make_amend,
    make_ask,
    make_bid,
    make_cancel,
    require_bid_fields,
)
from market.trading.ownership import EngineOwnership
from market.trading.risk import RiskStage, worst_case_yen
from market.trading.sequencer import Job, Sequencer
from market.trading.service import TradingService

T = TypeVar("T")
log = logging.getLogger("datamarket.market")
# Set on trading work that writes nothing before it reaches the engine (bulk entry's single
# orders): a batch runs it without a savepoint.
SAVEPOINT_FREE = "savepoint_free"


class _ReplayAlone(Exception):
    """A job failed after reaching the engine: the batch must not commit."""


@dataclass
class BidOutcome:
    """A placed bid and what it bought.

    `stored` is the bid as an ORM object, or, for a plain bid that rested, the row bulk entry
    wrote, which a public view (`BidPublic.model_validate`) takes as it is; `bid` builds the
    object from it on first use. Building a `Bid` costs about as much as a statement, and the
    engine thread would build one for every resting bid only for the API to copy its fields.
    """

    stored: Bid | dict[str, Any]
    trades: list[Trade]
    # Every trade's seller is shown to the buyer as it is: the bid's instrument never held a
    # listing of PDS records, whose individual sellers a buyer sees only by a reference.
    sellers_as_stored: bool = False

    @property
    def bid(self) -> Bid:
        if isinstance(self.stored, dict):
            self.stored = Bid(**self.stored)
        return self.stored


class OrderDesk:
    """Asks, bids, amendments, cancels, auctions and clock ticks, through the one engine."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        trading: TradingService,
        *,
        bind: Callable[[Session], Session],
        ref_key: bytes,
        after_commit: Callable[[], None],
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = engine
        self.settings = settings
        self.trading = trading
        self.owner = EngineOwnership(engine)
        self.risk = RiskStage()
        self.bind = bind
        self.ref_key = ref_key
        self.after_commit = after_commit
        self.now = now
        self.running = False
        self.personal_terms = PersonalTerms(engine, lambda: self.now())
        self.sequencer = Sequencer(self._run_batch, max_batch=settings.engine_batch_max)
        # The engine thread's own database connection, kept between its transactions.
        self._connection: Connection | None = None
        self._commit_sent = False
        # Whether the last unit of work committed outbox events: only then is `after_commit`
        # (the publisher's wake-up) run. Most orders rest and record none; a wake-up per batch
        # had the publisher read the outbox after every batch, to find nothing.
        self._events_committed = False
        # Registered instruments (never removed), so a bid on one needs no registry lookup, and
        # instruments that ever held a PDS listing, whose bids size a licence in records: both
        # are filled on restore and grow as this desk lists (only it creates PDS listings).
        self.known_instruments: set[str] = set()
        self.pds_instruments: set[str] = set()
        self.bulk = BulkDesk(
            trading=trading,
            risk=self.risk,
            book=self.book,
            one_by_one=self._batch_item_work,
            known_instruments=self.known_instruments,
            pds_instruments=self.pds_instruments,
        )

    # ownership and recovery
    def open(self) -> None:
        """Become the engine owner and restore the engine (raises EngineOwnedElsewhere)."""
        self.owner.acquire()
        try:
            self.restore()
        except BaseException:
            self.owner.release()
            raise
        self.sequencer.start()
        self.running = True

    def close(self) -> None:
        """Snapshot the engine for a quick restart and give up ownership."""
        if not self.running:
            return
        self.running = False
        self.sequencer.stop()
        self._drop_connection()
        try:
            self.trading.write_snapshot(self.db, self.owner)
        except Exception as exc:
            log.warning("no engine snapshot on close: %s", type(exc).__name__)
        self.owner.release()

    def restore(self) -> None:
        """Every restore path: the engine from its newest snapshot and journal, then the state
        kept beside it (the risk stage, the instruments with PDS listings)."""
        self.trading.rebuild(self.db)
        self._rebuild_risk()
        with Session(self.db) as session:
            self.pds_instruments.update(personal_listing_instruments(session))
            self.known_instruments.update(session.exec(select(Instrument.name)))

    def _rebuild_risk(self) -> None:
        """Reserve again what every open bid may cost, from the committed order book."""
        with Session(self.db) as session:
            bids = session.exec(select(Bid).where(Bid.status == "open")).all()
        self.risk.rebuild(
            (b.id, b.buyer_id, b.max_price_yen, b.quantity - b.filled, b.records_per_licence)
            for b in bids
        )

    # the trading unit of work
    def transaction(self, work: Callable[[Session], T], *, orders: int = 1) -> T:
        """Run trading work in the engine's sequence and return its result once it committed.

        The work may drive the engine; it runs in the sequencer's engine thread, batched with
        other callers' work into one transaction (market/trading/sequencer.py) of at most
        `engine_batch_max` orders, `orders` being what this work carries.
        """
        if not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")
        return self.sequencer.run(work, weight=orders)

    def _run_alone(self, work: Callable[[Session], T]) -> T:
        """One unit of trading work in its own transaction; the engine is rebuilt if it fails
        after reaching the engine. The caller runs `after_commit` once it answered.

        The engine thread's connection can die while it waits (a database restart): work that
        found it dead before its commit was sent runs once more, on a new connection. Once the
        commit was sent, whether it committed is unknown, and the failure is the answer.
        """
        try:
            return self._run_alone_once(work)
        except DBAPIError as exc:
            if not exc.connection_invalidated or self._commit_sent:
                raise
        log.warning("the engine's database connection was lost; the work runs again")
        return self._run_alone_once(work)

    def _run_alone_once(self, work: Callable[[Session], T]) -> T:
        with self.trading.lock:
            self.trading.touched = False
            try:
                with self._unit_of_work() as session:
                    # The fencing check locks the owner row until commit (market/trading/ownership.py).
                    self.owner.fence(session)
                    result = work(self.bind(session))
            except BaseException:
                self.trading.discarded()
                if self.trading.touched:
                    self.restore()
                raise
            self.trading.committed()
        return result

    @contextmanager
    def _unit_of_work(self) -> Iterator[Session]:
        """`db.unit_of_work` on the engine thread's own connection, kept open between its
        transactions: no pool checkout and reset, nor PostgreSQL's liveness ping, per batch
        (about a third of an empty transaction's CPU). A connection whose statement failed is
        closed, so the next transaction (the batch's jobs run again alone) opens a new one."""
        connection = self._connection
        if connection is None:
            connection = self.db.connect()
            if self.db.dialect.name == "sqlite":
                # Every transaction of it writes: take SQLite's write lock at BEGIN (db.py).
                connection.execution_options(sqlite_begin="IMMEDIATE")
            self._connection = connection
        self._commit_sent = False
        self._events_committed = False
        with Session(bind=connection, expire_on_commit=False) as session:
            try:
                yield session
                session.flush()  # an outbox row added as an ORM object marks the session here
                events = bool(session.info.get(NEW_EVENTS))
                self._commit_sent = True
                session.commit()
                self._events_committed = events
            except BaseException as exc:
                try:
                    session.rollback()
                except Exception:
                    self._drop_connection()
                else:
                    if isinstance(exc, DBAPIError) or connection.invalidated:
                        self._drop_connection()
                raise

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # a broken connection may refuse even to close
                log.warning("engine connection not closed cleanly: %s", type(exc).__name__)

    def _run_batch(self, jobs: list[Job[Any]]) -> None:
        """Run queued work in one transaction, each job in a savepoint; answer after commit.

        A job that fails before reaching the engine rolls back its savepoint and gets its error;
        the others go on. When a job fails after reaching the engine, or the commit fails, the
        engine already holds work that will not commit: it is rebuilt from its snapshot and
        journal, and every job of the batch runs again alone, so one bad job fails no other.
        """
        if len(jobs) == 1:
            # Alone in its batch: no savepoint needed (a SAVEPOINT/RELEASE pair per request
            # costs about a fifth of the engine thread's time; docs/benchmarks.md).
            self._answer_alone(jobs[0])
            return
        outcomes: list[tuple[bool, Any]] = []
        with self.trading.lock:
            self.trading.touched = False
            try:
                with self._unit_of_work() as session:
                    self.owner.fence(session)
                    self.bind(session)
                    shared = SharedBatch.start(self.trading, cards=terms_of(session).card_payments)
                    for job in jobs:
                        outcomes.append(self._run_in_batch(session, job, shared))
                    shared.pending.write(session)
            except _ReplayAlone:
                outcomes = []
            except BaseException as exc:
                log.warning("trading batch did not commit: %s", type(exc).__name__)
                outcomes = []
            if not outcomes:
                self.trading.discarded()
                if self.trading.touched:
                    self.restore()
            else:
                self.trading.committed()
        if not outcomes:
            for job in jobs:
                self._answer_alone(job)
            return
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        # After the answers: waking the outbox publisher first would have it take the GIL
        # while the callers wait.
        if self._events_committed:
            self.after_commit()

    def _answer_alone(self, job: Job[Any]) -> None:
        try:
            result = self._run_alone(job.work)
        except BaseException as exc:
            job.future.set_exception(exc)
            return
        job.future.set_result(result)
        if self._events_committed:
            self.after_commit()

    def _run_in_batch(
        self, session: Session, job: Job[Any], shared: SharedBatch
    ) -> tuple[bool, Any]:
        """One job of a batch: bulk entry's single orders as they are (they write nothing
        before the engine and leave their rows in `shared`), any other in a savepoint after the
        rows waiting so far, which it may read or book against."""
        if getattr(job.work, SAVEPOINT_FREE, False):
            # Only such a job sees the shared rows: the same work nested in another job (a
            # cancel inside a bulk request) writes its own at once, keeping the journal's order.
            session.info[SHARED_BATCH] = shared
            try:
                return self._run_in_savepoint(session, job, savepoint=False)
            finally:
                del session.info[SHARED_BATCH]
        shared.pending.write(session)
        try:
            return self._run_in_savepoint(session, job)
        finally:
            shared.forget()

    def _run_in_savepoint(
        self, session: Session, job: Job[Any], *, savepoint: bool = True
    ) -> tuple[bool, Any]:
        touched_before, self.trading.touched = self.trading.touched, False
        try:
            if not savepoint:
                return True, job.work(session)
            with session.begin_nested():
                return True, job.work(session)
        except Exception as exc:
            if self.trading.touched:
                raise _ReplayAlone() from exc
            return False, exc
        finally:
            self.trading.touched = touched_before or self.trading.touched

    def submit(self, session: Session, command: Any | None) -> list[Any]:
        """Apply a command to the engine (journaled) and let the risk stage see its events."""
        events = self.trading.submit(session, command)
        placed = command.id if isinstance(command, matching.Limit | matching.Market) else None
        self.risk.observe(events, placed_id=placed)
        return events

    def book(
        self, session: Session, events: list[Any], placed_id: str | None = None
    ) -> tuple[list[Trade], OrderRejected | None]:
        """Book what the engine did: orders' states, trades, licences, invoices and events."""
        return book_engine_events(
            session=session,
            events=events,
            fee_bps=self.settings.market_fee_bps,
            ref_key=self.ref_key,
            placed_id=placed_id,
            pds_instruments=self.pds_instruments,
        )

    def run_command(self, command: Any | None) -> list[Trade]:
        """Apply one engine command in its own trading transaction; a rejection is raised."""

        def work(session: Session) -> list[Trade]:
            trades, rejection = self.book(session, self.submit(session, command))
            if rejection is not None:
                raise rejection
            return trades

        return self.transaction(work)

    # asks
    def offer_licences(
        self,
        *,
        seller: Participant,
        offer: OfferLicences,
        claim: idempotency.Claim | None = None,
    ) -> Listing:
        """Offer licences of a dataset (an ask) and match it against resting bids."""
        listing, rejection = self.transaction(self._ask_work(seller, offer, claim))
        # Committed, so its instrument is registered: bids on it take the fast path.
        self.known_instruments.add(listing.instrument)
        return self._raise_rejection((listing, rejection))

    def _ask_work(
        self,
        seller: Participant,
        offer: OfferLicences,
        claim: idempotency.Claim | None,
        traded: list[Trade] | None = None,
    ) -> Callable[[Session], tuple[Listing, OrderRejected | None]]:
        terms = offer.terms
        return self._listing_work(
            lambda session: make_ask(
                session=session,
                seller=seller,
                dataset_id=offer.dataset_id,
                price_yen=terms.price_yen,
                licence_count=terms.licence_count,
                allowed_purposes=terms.allowed_purposes,
                allowed_recipients=terms.allowed_recipients,
                denied_recipients=terms.denied_recipients,
                term_days=terms.term_days,
                exclusive=terms.exclusive,
            ),
            terms,
            claim,
            traded,
        )

    def offer_records(
        self,
        *,
        seller: Participant,
        offer: OfferRecords,
        claim: idempotency.Claim | None = None,
    ) -> Listing:
        """List records kept in PDSs: a bank's pool or a person's own (market/banks/orders.py)."""
        return self._raise_rejection(self.transaction(self._records_work(seller, offer, claim)))

    def _records_work(
        self,
        seller: Participant,
        offer: OfferRecords,
        claim: idempotency.Claim | None,
        traded: list[Trade] | None = None,
    ) -> Callable[[Session], tuple[Listing, OrderRejected | None]]:
        terms = offer.terms

        def make(session: Session) -> tuple[Listing, Any]:
            listing, command = personal_orders.make_personal_ask(
                session=session,
                seller=seller,
                now=self.now(),
                categories=offer.categories,
                min_cohort=offer.min_cohort,
                price_yen=terms.price_yen,
                allowed_purposes=terms.allowed_purposes,
                licence_count=terms.licence_count,
                allowed_recipients=terms.allowed_recipients,
                denied_recipients=terms.denied_recipients,
                term_days=terms.term_days,
                exclusive=terms.exclusive,
            )
            # Before its bids could size a licence in records (a superset is harmless).
            self.pds_instruments.add(listing.instrument)
            return listing, command

        return self._listing_work(make, terms, claim, traded)

    def _listing_work(
        self,
        make: Callable[[Session], tuple[Listing, Any]],
        terms: LicenceTerms,
        claim: idempotency.Claim | None,
        traded: list[Trade] | None = None,
    ) -> Callable[[Session], tuple[Listing, OrderRejected | None]]:
        """An ask's unit of work: create the listing and its engine command, then place it
        (the trades it made at once are added to `traded` when given)."""

        def work(session: Session) -> tuple[Listing, OrderRejected | None]:
            listing, command = make(session)
            listing.price_includes_tax = terms.price_includes_tax
            return self._placed(session, listing, command, claim, traded)

        return work

    def _placed(
        self,
        session: Session,
        listing: Listing,
        command: Any,
        claim: idempotency.Claim | None,
        traded: list[Trade] | None,
    ) -> tuple[Listing, OrderRejected | None]:
        trades, rejection = self.book(session, self.submit(session, command), placed_id=listing.id)
        if traded is not None:
            traded.extend(trades)
        if claim is not None and rejection is None:
            claim.complete(session, listing)
        return listing, rejection

    def refresh_personal_listings(self) -> list[Trade]:
        """Push changed per-purpose recipients of open PDS listings to the engine (journaled).

        Runs right after a change of conditions, delegations, records or recipients commits,
        so a bid placed afterwards matches under the new terms; an update may trade at once.
        """
        if not self.running:
            return []
        with Session(self.db) as session:
            if not personal_orders.open_personal_listings(session=session):
                return []

        def work(session: Session) -> list[Trade]:
            booked: list[Trade] = []
            for command in self.personal_terms.commands(session):
                trades, _ = self.book(session, self.submit(session, command))
                booked.extend(trades)
            return booked

        try:
            return self.transaction(work)
        except MarketError as exc:
            # The change itself committed; a trade the new terms allowed but booking refused
            # (e.g. conditions expiring meanwhile) leaves the old terms until the next change.
            log.warning("personal listings not refreshed: %s", type(exc).__name__)
            return []

    # bids
    def place_bid(
        self, *, buyer: Participant, order: PlaceBid, claim: idempotency.Claim | None = None
    ) -> BidOutcome:
        """Place a bid; it trades at once against eligible asks or rests until it can."""
        return self._raise_rejection(self.transaction(self.bid_work(buyer, order, claim)))

    async def place_bid_async(self, *, buyer: Participant, order: PlaceBid) -> BidOutcome:
        """`place_bid` (without an idempotency claim) for async handlers: the request awaits
        the sequencer's answer on the event loop, holding no thread."""
        return self._raise_rejection(await self._queued(self.bid_work(buyer, order, None)))

    async def cancel_bid_async(self, *, buyer: Participant, bid_id: str) -> Bid:
        """`cancel_bid` for async handlers."""
        return _as_bid(await self._queued(self._bid_cancel_work(buyer, bid_id)))

    async def _queued(self, work: Callable[[Session], T]) -> T:
        if not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")
        return await asyncio.wrap_future(self.sequencer.submit(work))

    def bid_work(
        self, buyer: Participant, order: PlaceBid, claim: idempotency.Claim | None
    ) -> Callable[[Session], tuple[BidOutcome, OrderRejected | None]]:
        """The trading work of one bid: a plain bid (no named dataset, on a registered
        instrument without PDS listings) takes bulk entry's path, checked from memory with its
        rows written by Core (market/trading/bulk.py); any other bid, or one whose credit needs
        explaining or a card, the per-order path."""
        per_order = self._bid_work(buyer, order, claim)
        if order.dataset_id is not None or order.instrument not in self.known_instruments:
            return per_order
        if order.instrument in self.pds_instruments:
            return per_order

        def work(session: Session) -> tuple[BidOutcome, OrderRejected | None]:
            require_bid_fields(
                max_price_yen=order.max_price_yen,
                quantity=order.quantity,
                time_in_force=order.time_in_force,
                min_quality=order.min_quality,
                purpose=order.purpose,
            )
            entry = self._single_entry(session, buyer)
            placed = entry.place(session, order)
            if placed is None:
                return _per_order_in_batch(session, entry.shared, per_order)
            if entry.shared is None:
                entry.pending.write(session)
            # A plain bid's instrument holds no PDS listing (checked above).
            outcome = BidOutcome(placed.stored(), placed.trades, sellers_as_stored=True)
            if claim is not None and placed.rejection is None:
                claim.complete(session, outcome)
            return outcome, placed.rejection

        setattr(work, SAVEPOINT_FREE, True)
        return work

    def _single_entry(self, session: Session, participant: Participant) -> BulkEntry:
        """Bulk entry's path for one request's order: on its batch's shared rows when it runs
        as a job of its own in a batch of several (`_run_in_batch`), else on rows of its own."""
        shared: SharedBatch | None = session.info.get(SHARED_BATCH)
        entry = BulkEntry(self.bulk, participant, [], shared)
        if shared is None:
            entry.cards = terms_of(session).card_payments
        return entry

    def _bid_work(
        self, buyer: Participant, order: PlaceBid, claim: idempotency.Claim | None
    ) -> Callable[[Session], tuple[BidOutcome, OrderRejected | None]]:
        def work(session: Session) -> tuple[BidOutcome, OrderRejected | None]:
            known = order.instrument in self.known_instruments
            bid, command = make_bid(
                session=session,
                buyer=buyer,
                instrument=order.instrument,
                max_price_yen=order.max_price_yen,
                purpose=order.purpose,
                quantity=order.quantity,
                time_in_force=order.time_in_force,
                min_quality=order.min_quality,
                min_k=order.min_k,
                required_tags=order.required_tags,
                required_columns=order.required_columns,
                dataset_id=order.dataset_id,
                min_term_days=order.min_term_days,
                exclusive=order.exclusive,
                confirms_linkable_consent=order.confirms_linkable_consent,
                instrument_known=known,
                per_licence=1 if known and order.instrument not in self.pds_instruments else None,
            )
            self.known_instruments.add(order.instrument)
            credit.require_credit(
                session=session,
                buyer=buyer,
                exposure_yen=worst_case_yen(
                    bid.max_price_yen * bid.records_per_licence, bid.quantity
                ),
                reserved_yen=self.risk.reserved_yen(buyer.id),
            )
            # The reservation is in-memory state like the engine's: a failure after it rebuilds.
            self.trading.touched = True
            self.risk.reserve(
                order_id=bid.id,
                buyer_id=buyer.id,
                price_yen=bid.max_price_yen,
                quantity=bid.quantity,
                units=bid.records_per_licence,
            )
            trades, rejection = self.book(session, self.submit(session, command), placed_id=bid.id)
            outcome = BidOutcome(bid, trades)
            if claim is not None and rejection is None:
                claim.complete(session, outcome)
            return outcome, rejection

        return work

    @staticmethod
    def _raise_rejection(result: tuple[T, OrderRejected | None]) -> T:
        """The engine's refusal of a placed order, raised after its state was committed."""
        value, rejection = result
        if rejection is not None:
            raise rejection
        return value

    # amendments and cancels
    def cancel_bid(
        self, *, buyer: Participant, bid_id: str, claim: idempotency.Claim | None = None
    ) -> Bid:
        """Withdraw one of the buyer's open bids from the book (`claim` stores the answer in
        the cancel's own transaction)."""
        return _as_bid(self.transaction(self._bid_cancel_work(buyer, bid_id, claim)))

    def cancel_listing(self, *, seller: Participant, listing_id: str) -> Listing:
        """Withdraw one of the seller's open listings from the book."""
        return self._cancel(participant=seller, order_id=listing_id, kind=Listing)

    def amend_bid(
        self,
        *,
        buyer: Participant,
        bid_id: str,
        max_price_yen: int | None = None,
        quantity: int | None = None,
    ) -> BidOutcome:
        """Change an open bid's price or size; raising it reserves the difference first."""

        def reserve_more(session: Session, bid: Bid, command: Any) -> None:
            remaining = bid.quantity - bid.filled
            units = bid.records_per_licence  # a pooled bid may be invoiced per record
            before = worst_case_yen(bid.max_price_yen * units, remaining)
            after = worst_case_yen(
                (max_price_yen or bid.max_price_yen) * units, command.qty or remaining
            )
            if after > before:
                credit.require_credit(
                    session=session,
                    buyer=buyer,
                    exposure_yen=after - before,
                    reserved_yen=self.risk.reserved_yen(buyer.id),
                )

        bid, trades = self._amend(
            participant=buyer,
            order_id=bid_id,
            kind=Bid,
            price_yen=max_price_yen,
            total=quantity,
            check=reserve_more,
        )
        return BidOutcome(bid, trades)

    def amend_listing(
        self,
        *,
        seller: Participant,
        listing_id: str,
        price_yen: int | None = None,
        licence_count: int | None = None,
    ) -> Listing:
        """Change an open listing's price or licence count (it may trade at once)."""
        listing, _ = self._amend(
            participant=seller,
            order_id=listing_id,
            kind=Listing,
            price_yen=price_yen,
            total=licence_count,
        )
        return listing

    def _amend(
        self,
        *,
        participant: Participant,
        order_id: str,
        kind: type[T],
        price_yen: int | None,
        total: int | None,
        check: Callable[[Session, T, Any], None] | None = None,
    ) -> tuple[T, list[Trade]]:
        """Amend an order through the engine; `check` refuses it before the engine sees it."""

        def work(session: Session) -> tuple[tuple[T, list[Trade]], OrderRejected | None]:
            found, command = make_amend(
                session=session,
                participant=participant,
                order_id=order_id,
                kind=kind,  # type: ignore[arg-type]
                price_yen=price_yen,
                total=total,
            )
            order = cast(T, found)
            if check is not None:
                check(session, order, command)
            trades, rejection = self.book(session, self.submit(session, command))
            session.refresh(order)
            return (order, trades), rejection

        return self._raise_rejection(self.transaction(work))

    def _cancel(self, *, participant: Participant, order_id: str, kind: type[T]) -> T:
        return self.transaction(self._cancel_work(participant, order_id, kind))

    def _bid_cancel_work(
        self, buyer: Participant, bid_id: str, claim: idempotency.Claim | None = None
    ) -> Callable[[Session], Bid | CancelledBid]:
        """The trading work of a bid's cancel: bulk entry's path (its row read and written by
        Core, market/trading/bulk.py), or the per-order path when card payments are on or the
        engine's book does not hold the bid live."""
        per_order = self._cancel_work(buyer, bid_id, Bid)

        def work(session: Session) -> Bid | CancelledBid:
            entry = self._single_entry(session, buyer)
            cancelled = entry.cancel(session, bid_id)
            if cancelled is None:
                cancelled = _per_order_in_batch(session, entry.shared, per_order)
            if claim is not None:
                claim.complete(session, cancelled)
            return cancelled

        setattr(work, SAVEPOINT_FREE, True)
        return work

    def _cancel_work(
        self, participant: Participant, order_id: str, kind: type[T]
    ) -> Callable[[Session], T]:
        def work(session: Session) -> T:
            command = make_cancel(
                session=session,
                participant=participant,
                order_id=order_id,
                kind=kind,  # type: ignore[arg-type]
            )
            _, rejection = self.book(session, self.submit(session, command))
            if rejection is not None:
                raise rejection
            order = session.get(kind, order_id)
            if order is None:
                raise NotFound(f"order {order_id} does not exist")
            return order

        return work

    # bulk order entry
    def enter_batch(self, *, participant: Participant, items: list[BatchItem]) -> list[BatchAnswer]:
        """Many new orders and cancels, each atomic on its own, answered in order.

        The request is one unit of trading work (market/trading/bulk.py): its orders are checked
        together and the rows of those that rest are written with one insert per table. An
        item's `client_order_id` is its idempotency key: a retried id is answered from what the
        first attempt stored, never applied twice. When an order fails after reaching the
        engine, nothing of the job commits, the engine is rebuilt, and the orders are entered
        again one by one, so that order fails alone.
        """
        if not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")

        def work(session: Session) -> list[BatchAnswer]:
            # A fresh entry each run: a batch that failed may run this work again alone.
            return BulkEntry(self.bulk, participant, items).run(session)

        try:
            return self.transaction(work, orders=len(items))
        except Exception as exc:
            log.warning("batch entered again one order at a time: %s", type(exc).__name__)
        return self._enter_one_by_one(participant, items)

    def _enter_one_by_one(
        self, participant: Participant, items: list[BatchItem]
    ) -> list[BatchAnswer]:
        """Each item its own job, in its own savepoint (or transaction), answered in order."""
        works = [self._batch_item_work(participant, item) for item in items]
        answers: list[BatchAnswer] = []
        for item, future in zip(items, self.sequencer.run_many(works), strict=True):
            try:
                answers.append(future.result())
            except MarketError as exc:
                answers.append(BatchAnswer.refused(item.client_order_id, exc))
            except Exception as exc:
                # Its work rolled back (its savepoint, or its own transaction when the batch
                # ran again alone); the other orders keep their answers.
                log.error("batch order failed: %s", type(exc).__name__)
                answers.append(BatchAnswer.failed(item.client_order_id))
        return answers

    def _batch_item_work(
        self, participant: Participant, item: BatchItem
    ) -> Callable[[Session], BatchAnswer]:
        key = f"order:{item.client_order_id}"

        def work(session: Session) -> BatchAnswer:
            stored = session.get(IdempotencyRecord, (participant.id, key))
            if stored is not None:
                if stored.request_hash != item.request_hash or stored.response is None:
                    raise Conflict(
                        f"client_order_id {item.client_order_id} was already used for a "
                        "different order; use a new id"
                    )
                return BatchAnswer.from_stored(stored.response)
            answer = self._apply_batch_item(session, participant, item)
            session.add(
                IdempotencyRecord(
                    participant_id=participant.id,
                    key=key,
                    request_hash=item.request_hash,
                    response=answer.stored(),
                )
            )
            return answer

        return work

    def _apply_batch_item(
        self, session: Session, participant: Participant, item: BatchItem
    ) -> BatchAnswer:
        cid = item.client_order_id
        order = item.order
        if isinstance(order, PlaceBid):
            outcome, rejection = self._bid_work(participant, order, None)(session)
            bid = outcome.bid
            return BatchAnswer.placed(
                cid, bid.id, outcome.trades, rejection, stored_status=bid.status
            )
        traded: list[Trade] = []
        if isinstance(order, OfferLicences):
            listing, rejection = self._ask_work(participant, order, None, traded)(session)
            return BatchAnswer.placed(cid, listing.id, traded, rejection)
        if isinstance(order, OfferRecords):
            listing, rejection = self._records_work(participant, order, None, traded)(session)
            return BatchAnswer.placed(cid, listing.id, traded, rejection)
        cancelled: Bid | CancelledBid | Listing
        if order.side == "bid":
            cancelled = self._bid_cancel_work(participant, order.order_id)(session)
        else:
            cancelled = self._cancel_work(participant, order.order_id, Listing)(session)
        return BatchAnswer.placed(cid, cancelled.id, [], None, status="cancelled")

    # trading modes, auctions and the clock
    def set_trading_mode(
        self, *, instrument: str, mode: str, interval_seconds: int | None = None
    ) -> list[Trade]:
        """Switch an instrument between continuous trading and periodic call auctions."""
        if mode not in ("continuous", "periodic"):
            raise InvalidRequest("mode must be 'continuous' or 'periodic'")
        if mode == "continuous" and interval_seconds is not None:
            raise InvalidRequest("interval_seconds applies to periodic mode only")
        self._require_instrument(instrument)
        interval_ms = interval_seconds * 1000 if interval_seconds is not None else None
        return self.run_command(matching.SetMode(instrument, matching.Mode(mode), interval_ms))

    def run_auction(self, *, instrument: str, reference_price: int | None = None) -> list[Trade]:
        """Run a call auction (板寄せ) on an instrument now."""
        self._require_instrument(instrument)
        if instrument not in self.trading.engine.books:
            # Registered, but no order has reached its book yet: the auction has nothing to match.
            return []
        return self.run_command(matching.RunAuction(instrument, reference_price))

    def _require_instrument(self, name: str) -> None:
        with Session(self.db) as session:
            instruments.require_instrument(session=session, name=name)

    def tick(self) -> list[Trade]:
        """Advance the engine clock: runs due auctions and expires orders."""
        return self.run_command(None)

    def tick_if_due(self) -> list[Trade] | None:
        """Advance the engine clock only when an auction or expiry is due (None: nothing was)."""
        if self.personal_terms.is_due():
            self.refresh_personal_listings()
        if not self.trading.is_due():
            return None
        return self.tick()

    def snapshot_if_due(self) -> int:
        """Store an engine snapshot when enough commands were journaled since the last one;
        returns the journal seq it covers (0: none written)."""
        if not self.running or not self.trading.snapshot_due():
            return 0
        return self.trading.write_snapshot(self.db, self.owner)


def _per_order_in_batch(
    session: Session, shared: SharedBatch | None, per_order: Callable[[Session], T]
) -> T:
    """The per-order path of an order bulk entry's path passed on. In a batch it runs in its
    own savepoint (the job has none), after the rows waiting so far, which it may read."""
    if shared is None:
        return per_order(session)
    shared.pending.write(session)
    try:
        with session.begin_nested():
            return per_order(session)
    finally:
        shared.forget()


def _as_bid(cancelled: Bid | CancelledBid) -> Bid:
    """The cancelled bid as the API returns it; the fast path's is built here, in the caller's
    thread, not in the engine's (building an ORM object costs about as much as a statement)."""
    return cancelled if isinstance(cancelled, Bid) else cancelled.bid()
