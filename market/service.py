"""The market as one object: wiring (database, storage, events, engine) and its use cases.

Each use case opens one unit of work, calls the domain functions and commits; events recorded in
the outbox are published after commit. Trading use cases also hold the engine lock, so the
journal's order is the engine's order, and rebuild the engine if their transaction fails.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Engine as DbEngine
from sqlmodel import Session, select

import matching
from market import (
    anonymization,
    catalog,
    db,
    idempotency,
    offload,
    participants,
)
from market.banks import orders as personal_orders
from market.banks.desk import BankDesk
from market.datasets import (
    analyse_upload,
    create_dataset,
    get_dataset,
    propose_columns,
    require_download_right,
    require_uploadable,
)
from market.delivery.desk import Delivery, DeliveryDesk
from market.errors import Forbidden, InvalidRequest, MarketError, NotFound, OrderRejected
from market.events import EventBus, InProcessBus, RedisStreamBus, publish_pending
from market.jobs import AnonymizationRunner
from market.models import (
    AnonymizationJob,
    ApiKey,
    Bid,
    Dataset,
    Instrument,
    Invoice,
    Listing,
    OperatorAction,
    Participant,
    Trade,
    new_id,
    utcnow,
)
from market.offload import run_heavy
from market.orphans import sweep_orphans
from market.paging import Page, fetch_page
from market.participants import authenticate, register_participant
from market.personal.desk import PdsDesk
from market.quality.assess import quality_view
from market.settings import Settings
from market.settlement import credit
from market.settlement.desk import SettlementDesk
from market.settlement.invoices import mark_invoice_paid, outstanding_yen
from market.settlement.ledger import trial_balance
from market.settlement.statements import seller_balance
from market.storage import open_store
from market.trading import Clock, TradingService, epoch_ms, instruments
from market.trading.listings import book_engine_events, make_amend, make_ask, make_bid, make_cancel
from market.trading.ownership import EngineOwnership
from market.trading.risk import RiskStage, worst_case_yen

T = TypeVar("T")
log = logging.getLogger("datamarket.market")


@dataclass
class BidOutcome:
    bid: Bid
    trades: list[Trade]


class Market:
    """Everything a running market needs, built from settings.

    Building one has no side effects beyond opening the storage folder: it neither migrates,
    nor restores the engine, nor starts a thread, so commands that only need the database run
    beside a live server. `start()` (or a `with` block) makes this process the engine owner.
    """

    def __init__(
        self, settings: Settings, bus: EventBus | None = None, clock: Clock = epoch_ms
    ) -> None:
        self.settings = settings
        # The store first: it refuses a missing master key before any database file is created.
        self.store = open_store(settings)
        self.db: DbEngine = db.make_engine(settings.resolved_database_url)
        self.bus: EventBus = bus or _make_bus(settings)
        self.trading = TradingService(clock, settings.engine_snapshot_interval)
        self.owner = EngineOwnership(self.db)
        self.running = False
        self.risk = RiskStage()
        self._publish_lock = threading.Lock()
        self.jobs = AnonymizationRunner(
            self.db, self.store, after_commit=self._publish_after_commit
        )
        # Feature desks: people's PDS and the information banks (market/personal, market/banks).
        self.pds = PdsDesk(self.db, self.store, settings, after_commit=self._publish_after_commit)
        self.banks = BankDesk(
            self.db, self.store, settings, after_commit=self._publish_after_commit
        )
        self.settlement = SettlementDesk(self.db, settings, after_commit=self._publish_after_commit)
        self.pds.on_people_changed = self.refresh_personal_listings
        # Delivery: fingerprinted copies, signed download URLs, tracing (market/delivery).
        self.delivery = DeliveryDesk(self.db, self.store, settings)

    def migrate(self) -> None:
        """Bring the database schema to the newest migration (needs no engine ownership)."""
        db.migrate(self.db)

    def start(self) -> "Market":
        """Run the market: migrate, own the engine, restore it and resume queued jobs.

        Raises EngineOwnedElsewhere when another process runs the engine of this database.
        """
        if self.running:
            return self
        self.migrate()
        self.owner.acquire()
        try:
            self._restore_engine()
            self.jobs.resume()
        except BaseException:
            self.owner.release()
            raise
        self.running = True
        self._sweep_orphans()
        # People may have changed while no engine ran (commands beside a stopped market).
        self.refresh_personal_listings()
        return self

    def _sweep_orphans(self) -> None:
        """Remove stored blobs no row points to (an upload killed mid-request); never fatal."""
        try:
            sweep = sweep_orphans(
                db=self.db,
                store=self.store,
                grace=timedelta(seconds=self.settings.orphan_grace_seconds),
            )
        except Exception as exc:
            log.warning("orphan sweep skipped: %s", type(exc).__name__)
            return
        if sweep.removed:
            log.info("orphan sweep removed %d stored objects no row names", len(sweep.removed))

    def _restore_engine(self) -> None:
        """Every restore path: the engine from its newest snapshot and journal, then the state
        kept beside it (the risk stage)."""
        self.trading.rebuild(self.db)
        self._rebuild_risk()

    def close(self) -> None:
        """Stop: finish jobs, snapshot the engine for a quick restart, give up ownership."""
        self.jobs.shutdown()
        if self.running:
            offload.shutdown()
            self.running = False
            try:
                self.trading.write_snapshot(self.db, self.owner)
            except Exception as exc:
                log.warning("no engine snapshot on close: %s", type(exc).__name__)
            self.owner.release()
        self.db.dispose()

    def __enter__(self) -> "Market":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self, work: Callable[[Session], T]) -> T:
        with db.unit_of_work(self.db) as session:
            result = work(session)
        self._publish_after_commit()
        return result

    def _trading_transaction(self, work: Callable[[Session], T]) -> T:
        """A transaction that may drive the engine; the engine is rebuilt if it fails after that."""
        if not self.running:
            raise RuntimeError("the market is not started: call Market.start() to trade")
        with self.trading.lock:
            self.trading.touched = False
            try:
                with db.unit_of_work(self.db) as session:
                    # The fencing check locks the owner row until commit (market/trading/ownership.py).
                    self.owner.fence(session)
                    result = work(self.settlement.bind(session))
            except BaseException:
                self.trading.discarded()
                if self.trading.touched:
                    self._restore_engine()
                raise
            self.trading.committed()
        self._publish_after_commit()
        return result

    def _rebuild_risk(self) -> None:
        """Reserve again what every open bid may cost, from the committed order book."""
        with Session(self.db) as session:
            bids = session.exec(select(Bid).where(Bid.status == "open")).all()
        self.risk.rebuild((b.id, b.buyer_id, b.max_price_yen, b.quantity - b.filled) for b in bids)

    def _submit(self, session: Session, command: Any | None) -> list[Any]:
        """Apply a command to the engine (journaled) and let the risk stage see its events."""
        events = self.trading.submit(session, command)
        placed = command.id if isinstance(command, matching.Limit | matching.Market) else None
        self.risk.observe(events, placed_id=placed)
        return events

    def _publish_after_commit(self) -> None:
        """Publish what the commit added to the outbox; what fails stays there for the next try."""
        try:
            self.publish_events()
        except Exception as exc:
            log.warning("event publication deferred: %s", type(exc).__name__)

    def publish_events(self) -> int:
        """Publish committed outbox events to the bus."""
        with self._publish_lock:
            return publish_pending(self.db, self.bus)

    def idempotent(
        self,
        *,
        participant: Participant,
        key: str | None,
        request_hash: str,
        render: Callable[[Session, Any], dict[str, Any]],
        produce: Callable[[idempotency.Claim | None], Any],
    ) -> tuple[dict[str, Any], bool]:
        """Run `produce` once per idempotency key; returns (response, replayed).

        `produce` passes the claim to a use case, which stores the rendered response in its own
        transaction, so the response exists exactly when the work committed.
        """
        if key is None:
            result = produce(None)
            with Session(self.db) as session:
                return render(session, result), False
        scope = {"participant_id": participant.id, "key": key}
        # IMMEDIATE on SQLite: a deferred read-then-insert fails at once (no busy wait) when
        # another writer got in between; the write lock taken first waits its turn instead.
        with db.unit_of_work(self.db) as session:
            stored = idempotency.reserve(session=session, request_hash=request_hash, **scope)
        if stored is not None:
            return stored, True
        claim = idempotency.Claim(participant.id, key, render)
        try:
            result = produce(claim)
        except BaseException:
            with db.unit_of_work(self.db) as session:
                idempotency.release(session=session, **scope)
            raise
        if claim.response is None:
            with Session(self.db) as session:
                return render(session, result), False
        return claim.response, False

    def register(self, *, name: str, kind: str, **fields: Any) -> tuple[Participant, str]:
        registered = self._transaction(
            lambda s: register_participant(session=s, name=name, kind=kind, **fields)
        )
        if registered[0].kind == "business":
            # A new recipient may be one that people's conditions allow (by id or unrestricted).
            self.refresh_personal_listings()
        return registered

    def issue_key(self, participant: Participant) -> str:
        """A new API key for the participant (shown once), for rotating keys without downtime."""
        return self._transaction(
            lambda s: participants.issue_additional_key(session=s, participant=participant)
        )

    def api_keys(self, participant: Participant) -> list[ApiKey]:
        with Session(self.db) as session:
            return participants.live_keys(session=session, participant_id=participant.id)

    def revoke_own_key(self, *, participant: Participant, key_id: str) -> ApiKey:
        return self._transaction(
            lambda s: participants.revoke_own_api_key(
                session=s, participant=participant, key_id=key_id
            )
        )

    def revoke_key(self, *, operator: Participant, key_id: str, reason: str) -> ApiKey:
        """An operator revokes a key (audited)."""
        return self._transaction(
            lambda s: participants.revoke_api_key(
                session=s, operator=operator, key_id=key_id, reason=reason
            )
        )

    def authenticate(self, api_key: str) -> Participant:
        with Session(self.db) as session:
            return authenticate(session=session, presented=api_key)

    def upload_dataset(self, *, seller: Participant, raw: bytes, **fields: Any) -> Dataset:
        """Validate, encrypt and record a CSV upload; nothing is kept if any step fails.

        The file is parsed, scanned and scored before any transaction begins, in a worker
        process when it is large (market/offload.py).
        """
        require_uploadable(seller=seller, data_class=fields["data_class"])
        caps = {
            "max_bytes": self.settings.max_upload_bytes,
            "max_columns": self.settings.max_csv_columns,
            "max_header_bytes": self.settings.max_csv_header_bytes,
            "max_cell_chars": self.settings.max_csv_cell_chars,
        }
        analysed = run_heavy(
            len(raw),
            analyse_upload,
            raw,
            caps=caps,
            data_class=fields["data_class"],
            schema=fields.get("schema"),
            now=utcnow(),
        )
        dataset_id = new_id()
        self.store.put(dataset_id, analysed.parsed.data)
        try:
            return self._transaction(
                lambda s: create_dataset(
                    session=s, dataset_id=dataset_id, seller=seller, analysed=analysed, **fields
                )
            )
        except BaseException:
            self.store.delete(dataset_id)
            raise

    def list_personal_records(
        self,
        *,
        seller: Participant,
        pool: dict[str, Any],
        claim: idempotency.Claim | None = None,
        price_includes_tax: bool = False,
        **terms: Any,
    ) -> Listing:
        """List records kept in PDSs: a bank's pool or a person's own (market/banks/orders.py)."""

        def work(session: Session) -> tuple[Listing, OrderRejected | None]:
            listing, command = personal_orders.make_personal_ask(
                session=session, seller=seller, now=utcnow(), **pool, **terms
            )
            listing.price_includes_tax = price_includes_tax
            events = self._submit(session, command)
            _, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                placed_id=listing.id,
                ref_key=self.pds.ref_key,
            )
            if claim is not None and rejection is None:
                claim.complete(session, listing)
            return listing, rejection

        listing, rejection = self._trading_transaction(work)
        if rejection is not None:
            raise rejection
        return listing

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
            for command in personal_orders.refresh_commands(session=session, now=utcnow()):
                events = self._submit(session, command)
                trades, _ = book_engine_events(
                    session=session,
                    events=events,
                    fee_bps=self.settings.market_fee_bps,
                    ref_key=self.pds.ref_key,
                )
                booked.extend(trades)
            return booked

        try:
            return self._trading_transaction(work)
        except MarketError as exc:
            # The change itself committed; a trade the new terms allowed but booking refused
            # (e.g. conditions expiring meanwhile) leaves the old terms until the next change.
            log.warning("personal listings not refreshed: %s", type(exc).__name__)
            return []

    def list_dataset(
        self,
        *,
        seller: Participant,
        dataset_id: str,
        claim: idempotency.Claim | None = None,
        price_includes_tax: bool = False,
        **terms: Any,
    ) -> Listing:
        """Offer licences of a dataset (an ask) and match it against resting bids."""

        def work(session: Session) -> tuple[Listing, OrderRejected | None]:
            listing, command = make_ask(
                session=session, seller=seller, dataset_id=dataset_id, **terms
            )
            listing.price_includes_tax = price_includes_tax
            events = self._submit(session, command)
            _, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                ref_key=self.pds.ref_key,
                placed_id=listing.id,
            )
            if claim is not None and rejection is None:
                claim.complete(session, listing)
            return listing, rejection

        listing, rejection = self._trading_transaction(work)
        if rejection is not None:
            raise rejection
        return listing

    def place_bid(
        self, *, buyer: Participant, claim: idempotency.Claim | None = None, **terms: Any
    ) -> BidOutcome:
        """Place a bid; it trades at once against eligible asks or rests until it can."""

        def work(session: Session) -> tuple[BidOutcome, OrderRejected | None]:
            bid, command = make_bid(session=session, buyer=buyer, **terms)
            exposure = worst_case_yen(bid.max_price_yen, bid.quantity)
            credit.require_credit(
                session=session,
                buyer=buyer,
                exposure_yen=exposure,
                reserved_yen=self.risk.reserved_yen(buyer.id),
            )
            self.risk.reserve(
                order_id=bid.id,
                buyer_id=buyer.id,
                price_yen=bid.max_price_yen,
                quantity=bid.quantity,
            )
            events = self._submit(session, command)
            trades, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                ref_key=self.pds.ref_key,
                placed_id=bid.id,
            )
            outcome = BidOutcome(bid, trades)
            if claim is not None and rejection is None:
                claim.complete(session, outcome)
            return outcome, rejection

        outcome, rejection = self._trading_transaction(work)
        if rejection is not None:
            raise rejection
        return outcome

    def cancel_bid(self, *, buyer: Participant, bid_id: str) -> Bid:
        """Withdraw one of the buyer's open bids from the book."""
        return self._cancel(participant=buyer, order_id=bid_id, kind=Bid)

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
            before = worst_case_yen(bid.max_price_yen, remaining)
            after = worst_case_yen(max_price_yen or bid.max_price_yen, command.qty or remaining)
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
            events = self._submit(session, command)
            trades, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                ref_key=self.pds.ref_key,
            )
            session.refresh(order)
            return (order, trades), rejection

        result, rejection = self._trading_transaction(work)
        if rejection is not None:
            raise rejection
        return result

    def _cancel(self, *, participant: Participant, order_id: str, kind: type[T]) -> T:
        def work(session: Session) -> T:
            command = make_cancel(
                session=session,
                participant=participant,
                order_id=order_id,
                kind=kind,  # type: ignore[arg-type]
            )
            events = self._submit(session, command)
            _, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                ref_key=self.pds.ref_key,
            )
            if rejection is not None:
                raise rejection
            order = session.get(kind, order_id)
            if order is None:
                raise NotFound(f"order {order_id} does not exist")
            return order

        return self._trading_transaction(work)

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
        command = matching.SetMode(instrument, matching.Mode(mode), interval_ms)
        return self._run_engine_command(command)

    def run_auction(self, *, instrument: str, reference_price: int | None = None) -> list[Trade]:
        """Run a call auction (板寄せ) on an instrument now."""
        self._require_instrument(instrument)
        if instrument not in self.trading.engine.books:
            # Registered, but no order has reached its book yet: the auction has nothing to match.
            return []
        return self._run_engine_command(matching.RunAuction(instrument, reference_price))

    def _require_instrument(self, name: str) -> None:
        with Session(self.db) as session:
            instruments.require_instrument(session=session, name=name)

    def tick(self) -> list[Trade]:
        """Advance the engine clock: runs due auctions and expires orders."""
        return self._run_engine_command(None)

    def tick_if_due(self) -> list[Trade] | None:
        """Advance the engine clock only when an auction or expiry is due (None: nothing was)."""
        if not self.trading.is_due():
            return None
        return self.tick()

    def snapshot_if_due(self) -> int:
        """Store an engine snapshot when enough commands were journaled since the last one;
        returns the journal seq it covers (0: none written)."""
        if not self.running or not self.trading.snapshot_due():
            return 0
        return self.trading.write_snapshot(self.db, self.owner)

    def _run_engine_command(self, command: Any | None) -> list[Trade]:
        def work(session: Session) -> list[Trade]:
            events = self._submit(session, command)
            trades, rejection = book_engine_events(
                session=session,
                events=events,
                fee_bps=self.settings.market_fee_bps,
                ref_key=self.pds.ref_key,
            )
            if rejection is not None:
                raise rejection
            return trades

        return self._trading_transaction(work)

    def start_anonymization(
        self,
        *,
        seller: Participant,
        dataset_id: str,
        spec: anonymization.JobSpec | dict[str, Any],
    ) -> AnonymizationJob:
        """Queue an anonymization job; it runs in the background (see `job`)."""
        parsed = anonymization.parse_spec(spec)
        job = self._transaction(
            lambda s: anonymization.create_job(
                session=s, seller=seller, dataset_id=dataset_id, spec=parsed
            )
        )
        self.jobs.submit(job.id)
        return job

    def propose_columns(self, *, seller: Participant, dataset_id: str) -> dict[str, dict[str, str]]:
        """The detector's proposed column roles for one of the seller's datasets."""
        dataset, data = self.download(participant=seller, dataset_id=dataset_id)
        if dataset.seller_id != seller.id:
            raise Forbidden(f"dataset {dataset_id} belongs to another seller")
        return propose_columns(data)

    def public_dataset(self, dataset_id: str) -> Dataset:
        """An anonymized dataset whose public announcement anyone may read."""
        with Session(self.db) as session:
            dataset = session.get(Dataset, dataset_id)
        if dataset is None or dataset.data_class != "anonymized":
            raise NotFound(f"no anonymized dataset {dataset_id} has been announced")
        return dataset

    def job(self, *, participant: Participant, job_id: str) -> AnonymizationJob:
        with Session(self.db) as session:
            return anonymization.get_job(session=session, participant=participant, job_id=job_id)

    def download(self, *, participant: Participant, dataset_id: str) -> tuple[Dataset, bytes]:
        """The dataset's bytes, for its seller or a licence holder."""
        with Session(self.db) as session:
            dataset = get_dataset(session=session, dataset_id=dataset_id)
            require_download_right(session=session, participant=participant, dataset=dataset)
        return dataset, self.store.get(dataset_id)

    def deliver(
        self, *, participant: Participant, dataset_id: str, excel_safe: bool = False
    ) -> Delivery:
        """A streamed copy: as stored for the seller, fingerprinted for a licence holder."""
        return self.delivery.deliver(
            participant=participant, dataset_id=dataset_id, excel_safe=excel_safe
        )

    def mark_invoice_paid(
        self, *, operator: Participant, invoice_id: str, reference: str, reason: str
    ) -> Invoice:
        """Record a bank transfer paying an invoice (audited; a second payment is a conflict)."""
        return self._transaction(
            lambda s: mark_invoice_paid(
                session=s,
                operator=operator,
                invoice_id=invoice_id,
                reference=reference,
                reason=reason,
            )
        )

    def grant_credit(
        self, *, operator: Participant, participant_id: str, credit_limit_yen: int, reason: str
    ) -> Participant:
        """Set a participant's credit limit (audited)."""
        return self._transaction(
            lambda s: credit.grant_credit(
                session=s,
                operator=operator,
                participant_id=participant_id,
                credit_limit_yen=credit_limit_yen,
                reason=reason,
            )
        )

    def record_deposit(
        self,
        *,
        operator: Participant,
        participant_id: str,
        amount_yen: int,
        reference: str,
        reason: str,
    ) -> int:
        """Book a prepaid deposit (audited); returns the participant's deposit balance."""
        return self._transaction(
            lambda s: credit.record_deposit(
                session=s,
                operator=operator,
                participant_id=participant_id,
                amount_yen=amount_yen,
                reference=reference,
                reason=reason,
            )
        )

    def set_verification(
        self, *, operator: Participant, participant_id: str, verified: bool, reason: str
    ) -> Participant:
        """Verify a participant's declared category, country and security profile (audited)."""
        verified_row = self._transaction(
            lambda s: participants.set_verification(
                session=s,
                operator=operator,
                participant_id=participant_id,
                verified=verified,
                reason=reason,
            )
        )
        # A verified category or country changes whom people's conditions allow.
        self.refresh_personal_listings()
        return verified_row

    def credit_standing(self, participant: Participant) -> dict[str, int]:
        """What a buyer may still commit, and why: limit, deposits, unpaid invoices, reservations."""
        with Session(self.db) as session:
            reserved = self.risk.reserved_yen(participant.id)
            return {
                "credit_limit_yen": participant.credit_limit_yen,
                "deposit_yen": credit.deposit_balance_yen(session=session, buyer_id=participant.id),
                "unpaid_invoices_yen": outstanding_yen(session=session, buyer_id=participant.id),
                "reserved_by_open_bids_yen": reserved,
                "available_yen": credit.available_yen(
                    session=session, buyer=participant, reserved_yen=reserved
                ),
            }

    def operator_actions(
        self, *, target_id: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> Page[OperatorAction]:
        with Session(self.db) as session:
            query: Any = select(OperatorAction)
            if target_id is not None:
                query = query.where(OperatorAction.target_id == target_id)
            return fetch_page(
                session=session,
                query=query,
                keys=(OperatorAction.id,),
                kinds=(int,),
                cursor=cursor,
                limit=limit,
            )

    def create_instrument(self, *, operator: Participant, name: str) -> Instrument:
        return self._transaction(
            lambda s: instruments.create_instrument(session=s, name=name, operator=operator)
        )

    def instruments(self, *, cursor: str | None = None, limit: int = 100) -> Page[Instrument]:
        with Session(self.db) as session:
            return fetch_page(
                session=session,
                query=select(Instrument),
                keys=(Instrument.created_at, Instrument.name),
                kinds=(datetime, str),
                cursor=cursor,
                limit=limit,
            )

    def listings(
        self,
        *,
        viewer: Participant,
        where: catalog.ListingFilter,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[dict[str, Any]]:
        """Listings as the viewer may see them (see market/catalog.py)."""
        with Session(self.db) as session:
            return catalog.find_listings(
                session=session, viewer=viewer, where=where, cursor=cursor, limit=limit
            )

    def dataset(self, *, viewer: Participant, dataset_id: str) -> dict[str, Any]:
        with Session(self.db) as session:
            return catalog.visible_dataset(session=session, viewer=viewer, dataset_id=dataset_id)

    def dataset_quality(self, *, viewer: Participant, dataset_id: str) -> dict[str, Any]:
        with Session(self.db) as session:
            return quality_view(session=session, viewer=viewer, dataset_id=dataset_id)

    def listing(self, *, viewer: Participant, listing_id: str) -> dict[str, Any]:
        with Session(self.db) as session:
            return catalog.get_listing(session=session, viewer=viewer, listing_id=listing_id)

    def participants(
        self,
        *,
        kind: str | None = None,
        verification: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[Participant]:
        """Participants, newest first, filtered by kind and verification."""
        equals = {"kind": kind, "verification": verification}
        return self.find_page(
            Participant,
            cursor=cursor,
            limit=limit,
            **{column: value for column, value in equals.items() if value is not None},
        )

    def find(self, model: type[T], *, limit: int = 100, **equals: Any) -> list[T]:
        """Rows of one table whose columns equal the given values, newest first."""
        return self.find_page(model, limit=limit, **equals).items

    def find_page(
        self, model: type[T], *, cursor: str | None = None, limit: int = 100, **equals: Any
    ) -> Page[T]:
        """One page of rows whose columns equal the given values, newest first (keyset paging)."""
        with Session(self.db) as session:
            query: Any = select(model)
            for column, value in equals.items():
                query = query.where(getattr(model, column) == value)
            stamp: Any = getattr(model, "created_at", None) or getattr(model, "issued_at", None)
            key: Any = getattr(model, "id")  # noqa: B009  (every paged table has an id)
            return fetch_page(
                session=session,
                query=query,
                keys=(stamp, key),
                kinds=(datetime, str),
                cursor=cursor,
                limit=limit,
            )

    def seller_balance(self, seller: Participant) -> dict[str, int]:
        with Session(self.db) as session:
            return seller_balance(session=session, seller_id=seller.id)

    def trial_balance(self) -> dict[str, int]:
        with Session(self.db) as session:
            return trial_balance(session=session)

    def trades(
        self,
        *,
        buyer_id: str | None = None,
        seller_id: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[Trade]:
        """Trades, newest first; of one buyer or one seller when given."""
        with Session(self.db) as session:
            query: Any = select(Trade)
            if buyer_id is not None:
                query = query.where(Trade.buyer_id == buyer_id)
            if seller_id is not None:
                query = query.where(Trade.seller_id == seller_id)
            return fetch_page(
                session=session,
                query=query,
                keys=(Trade.seq,),
                kinds=(int,),
                cursor=cursor,
                limit=limit,
            )


def _make_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        import redis

        return RedisStreamBus(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
    return InProcessBus()
