"""The market as one object: wiring (database, storage, events, engine) and its use cases.

Each use case opens one unit of work, calls the domain functions and commits; events recorded in
the outbox are published after commit. Trading use cases also hold the engine lock, so the
journal's order is the engine's order, and rebuild the engine if their transaction fails.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine as DbEngine
from sqlmodel import Session, select

import matching
from market import anonymization, db, idempotency
from market.csv_ingest import parse_csv_upload
from market.datasets import (
    create_dataset,
    get_dataset,
    propose_columns,
    require_download_right,
)
from market.encryption import Encryptor
from market.errors import Forbidden, InvalidRequest, NotFound, OrderRejected
from market.events import EventBus, InProcessBus, RedisStreamBus, publish_pending
from market.jobs import AnonymizationRunner
from market.listings import book_engine_events, make_ask, make_bid, make_cancel
from market.models import (
    AnonymizationJob,
    Bid,
    Dataset,
    Invoice,
    Listing,
    Participant,
    Trade,
    new_id,
)
from market.participants import authenticate, register_participant
from market.settings import Settings
from market.settlement import mark_invoice_paid, trial_balance
from market.storage import EncryptedFolderStore
from market.trading import Clock, TradingService, epoch_ms

T = TypeVar("T")
log = logging.getLogger("datamarket.market")


@dataclass
class BidOutcome:
    bid: Bid
    trades: list[Trade]


class Market:
    """Everything a running market needs, built from settings."""

    def __init__(
        self, settings: Settings, bus: EventBus | None = None, clock: Clock = epoch_ms
    ) -> None:
        self.settings = settings
        self.db: DbEngine = db.make_engine(settings.resolved_database_url)
        db.migrate(self.db)
        self.store = EncryptedFolderStore(
            settings.data_dir / "objects", Encryptor(settings.resolved_master_key())
        )
        self.bus: EventBus = bus or _make_bus(settings)
        self.trading = TradingService(clock)
        self.trading.rebuild(self.db)
        self._publish_lock = threading.Lock()
        self.jobs = AnonymizationRunner(
            self.db, self.store, after_commit=self._publish_after_commit
        )
        self.jobs.resume()

    def close(self) -> None:
        self.jobs.shutdown()
        self.db.dispose()

    def __enter__(self) -> "Market":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self, work: Callable[[Session], T]) -> T:
        with db.unit_of_work(self.db) as session:
            result = work(session)
        self._publish_after_commit()
        return result

    def _trading_transaction(self, work: Callable[[Session], T]) -> T:
        """A transaction that may drive the engine; the engine is rebuilt if it fails after that."""
        with self.trading.lock:
            self.trading.touched = False
            try:
                with db.unit_of_work(self.db) as session:
                    result = work(session)
            except BaseException:
                if self.trading.touched:
                    self.trading.rebuild(self.db)
                raise
        self._publish_after_commit()
        return result

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
        produce: Callable[[], dict[str, Any]],
    ) -> tuple[dict[str, Any], bool]:
        """Run `produce` once per idempotency key; returns (response, replayed)."""
        if key is None:
            return produce(), False
        scope = {"participant_id": participant.id, "key": key}
        with Session(self.db) as session:
            stored = idempotency.reserve(session=session, request_hash=request_hash, **scope)
        if stored is not None:
            return stored, True
        try:
            response = produce()
        except BaseException:
            with Session(self.db) as session:
                idempotency.release(session=session, **scope)
            raise
        with Session(self.db) as session:
            idempotency.complete(session=session, response=response, **scope)
        return response, False

    def register(self, *, name: str, kind: str, **fields: Any) -> tuple[Participant, str]:
        return self._transaction(
            lambda s: register_participant(session=s, name=name, kind=kind, **fields)
        )

    def authenticate(self, api_key: str) -> Participant:
        with Session(self.db) as session:
            return authenticate(session=session, presented=api_key)

    def upload_dataset(self, *, seller: Participant, raw: bytes, **fields: Any) -> Dataset:
        """Validate, encrypt and record a CSV upload; nothing is kept if any step fails."""
        parsed = parse_csv_upload(raw, max_bytes=self.settings.max_upload_bytes)
        dataset_id = new_id()
        self.store.put(dataset_id, parsed.data)
        try:
            return self._transaction(
                lambda s: create_dataset(
                    session=s, dataset_id=dataset_id, seller=seller, parsed=parsed, **fields
                )
            )
        except BaseException:
            self.store.delete(dataset_id)
            raise

    def list_dataset(self, *, seller: Participant, dataset_id: str, **terms: Any) -> Listing:
        """Offer licences of a dataset (an ask) and match it against resting bids."""

        def work(session: Session) -> Listing:
            listing, command = make_ask(
                session=session, seller=seller, dataset_id=dataset_id, **terms
            )
            events = self.trading.submit(session, command)
            book_engine_events(session=session, events=events, fee_bps=self.settings.market_fee_bps)
            return listing

        return self._trading_transaction(work)

    def place_bid(self, *, buyer: Participant, **terms: Any) -> BidOutcome:
        """Place a bid; it trades at once against eligible asks or rests until it can."""

        def work(session: Session) -> tuple[BidOutcome, OrderRejected | None]:
            bid, command = make_bid(session=session, buyer=buyer, **terms)
            events = self.trading.submit(session, command)
            trades, rejection = book_engine_events(
                session=session, events=events, fee_bps=self.settings.market_fee_bps
            )
            return BidOutcome(bid, trades), rejection

        outcome, rejection = self._trading_transaction(work)
        if rejection is not None:
            raise rejection
        return outcome

    def cancel_order(self, *, participant: Participant, order_id: str) -> Bid | Listing:
        """Withdraw an open bid or listing from the book."""

        def work(session: Session) -> Bid | Listing:
            command = make_cancel(session=session, participant=participant, order_id=order_id)
            events = self.trading.submit(session, command)
            _, rejection = book_engine_events(
                session=session, events=events, fee_bps=self.settings.market_fee_bps
            )
            if rejection is not None:
                raise rejection
            order = session.get(Bid, order_id) or session.get(Listing, order_id)
            assert order is not None
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
        interval_ms = interval_seconds * 1000 if interval_seconds is not None else None
        command = matching.SetMode(instrument, matching.Mode(mode), interval_ms)
        return self._run_engine_command(command)

    def run_auction(self, *, instrument: str, reference_price: int | None = None) -> list[Trade]:
        """Run a call auction (板寄せ) on an instrument now."""
        return self._run_engine_command(matching.RunAuction(instrument, reference_price))

    def tick(self) -> list[Trade]:
        """Advance the engine clock: runs due auctions and expires orders."""
        return self._run_engine_command(None)

    def _run_engine_command(self, command: Any | None) -> list[Trade]:
        def work(session: Session) -> list[Trade]:
            events = self.trading.submit(session, command)
            trades, rejection = book_engine_events(
                session=session, events=events, fee_bps=self.settings.market_fee_bps
            )
            if rejection is not None:
                raise rejection
            return trades

        return self._trading_transaction(work)

    def start_anonymization(
        self, *, seller: Participant, dataset_id: str, spec: dict[str, Any]
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

    def mark_invoice_paid(self, invoice_id: str) -> Invoice:
        return self._transaction(lambda s: mark_invoice_paid(session=s, invoice_id=invoice_id))

    def find(self, model: type[T], *, limit: int = 100, **equals: Any) -> list[T]:
        """Rows of one table whose columns equal the given values, newest first."""
        with Session(self.db) as session:
            query = select(model)
            for column, value in equals.items():
                query = query.where(getattr(model, column) == value)
            order: Any = getattr(model, "created_at", None) or getattr(model, "issued_at", None)
            return list(session.exec(query.order_by(order.desc()).limit(limit)))

    def trial_balance(self) -> dict[str, int]:
        with Session(self.db) as session:
            return trial_balance(session=session)

    def trades(self, *, participant_id: str | None = None, limit: int = 100) -> list[Trade]:
        with Session(self.db) as session:
            query = select(Trade).order_by(Trade.seq.desc()).limit(limit)  # type: ignore[attr-defined]
            if participant_id is not None:
                query = query.where(
                    (Trade.buyer_id == participant_id) | (Trade.seller_id == participant_id)
                )
            return list(session.exec(query))


def _make_bus(settings: Settings) -> EventBus:
    if settings.redis_url:
        import redis

        return RedisStreamBus(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
    return InProcessBus()
