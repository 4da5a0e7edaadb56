"""The market as one object: the composition root that wires the feature desks together.

`Market(settings)` builds the database engine, the blob store, the event bus, the matching engine
and one desk per feature; the use cases live in the desks (market/<feature>/desk.py), each opening
its own unit of work:

- `orders`: asks, bids, amendments, cancels, auctions, the clock (market/trading/desk.py)
- `accounts`: registration, API keys, authentication, verification (market/accounts/desk.py)
- `data`: uploads, anonymization jobs, raw downloads (market/data/desk.py)
- `credit`: credit limits, deposits, invoices paid by transfer, balances (market/settlement/credit_desk.py)
- `settlement`: tax profiles, fees, refunds, payouts, documents, checks (market/settlement/desk.py)
- `delivery`: fingerprinted copies, signed URLs, tracing (market/delivery/desk.py)
- `pds` and `banks`: people's records, conditions, consent, information banks (market/personal, market/banks)

What stays here: start-up and shutdown, outbox publication, idempotent requests and the
read-only queries shared by several audiences.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine as DbEngine
from sqlmodel import Session, select

from market import catalog, db, engine_channel, idempotency, offload
from market.accounts.desk import AccountDesk
from market.auth_cache import ApiKeyCache
from market.banks.desk import BankDesk
from market.catalog.desk import CatalogDesk
from market.data.desk import DataDesk
from market.delivery.desk import DeliveryDesk
from market.desk import UnitOfWork
from market.events import EventBus, InProcessBus, RedisStreamBus, publish_pending
from market.jobs import AnonymizationRunner
from market.models import Instrument, OperatorAction, Participant, Trade
from market.orphans import sweep_orphans
from market.outbox import OutboxPublisher
from market.paging import Page, fetch_page
from market.personal.desk import PdsDesk
from market.quality.assess import quality_view
from market.ratings.desk import RatingsDesk
from market.revisions.desk import RevisionsDesk
from market.settings import Settings
from market.settlement.credit_desk import CreditDesk
from market.settlement.desk import SettlementDesk
from market.storage import open_store
from market.trading import Clock, TradingService, epoch_ms, instruments

T = TypeVar("T")
log = logging.getLogger("datamarket.market")


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
        self._publish_lock = threading.Lock()
        published = self._publish_after_commit
        self.uow = UnitOfWork(self.db, after_commit=published)
        self.trading = TradingService(clock, settings.engine_snapshot_interval)
        self.jobs = AnonymizationRunner(self.db, self.store, after_commit=published)
        self.pds = PdsDesk(self.db, self.store, settings, after_commit=published)
        self.banks = BankDesk(self.db, self.store, settings, after_commit=published)
        self.settlement = SettlementDesk(self.db, settings, after_commit=published)
        # A worker process forwards trading to the engine owner (market/engine_channel/).
        self.orders = engine_channel.make_order_desk(
            settings,
            self.db,
            trading=self.trading,
            bind=self.settlement.bind,
            ref_key=self.pds.ref_key,
            after_commit=published,
        )
        self.accounts = AccountDesk(
            self.db,
            after_commit=published,
            on_recipients_changed=self.orders.refresh_personal_listings,
        )
        self.pds.on_people_changed = self.orders.refresh_personal_listings
        # A board's or a person's decision may unwind a provisional trade through the engine.
        self.pds.orders = self.banks.orders = self.orders
        # A card trade failed unpaid gives its licences back to the order book in its unit.
        self.settlement.orders = self.orders
        self.data = DataDesk(self.db, self.store, settings, self.jobs, after_commit=published)
        self.credit = CreditDesk(self.db, self.orders.risk, after_commit=published)
        self.catalog = CatalogDesk(self.db, self.store)
        self.ratings = RatingsDesk(self.orders)
        self.revisions = RevisionsDesk(self.orders, self.store, settings)
        self.delivery = DeliveryDesk(self.db, self.store, settings)
        self.channel: engine_channel.ChannelServer | None = None

    @property
    def running(self) -> bool:
        return self.orders.running

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
        self.orders.open()
        try:
            self.jobs.resume()
            self.channel = engine_channel.serve_channel(self.settings, self.orders, self.db)
        except BaseException:
            self.orders.close()
            raise
        self.outbox = OutboxPublisher(
            db=self.db,
            bus=lambda: self.bus,
            lock=self._publish_lock,
            retention=timedelta(seconds=self.settings.outbox_retention_seconds),
        )
        self.outbox.start()
        self.key_cache = ApiKeyCache.from_settings(self.settings, self.db)
        self.key_cache.start()
        self._sweep_orphans()
        # People may have changed while no engine ran (commands beside a stopped market).
        self.orders.refresh_personal_listings()
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

    def close(self) -> None:
        """Stop: finish jobs, snapshot the engine for a quick restart, give up ownership."""
        self.jobs.shutdown()
        if self.running:
            offload.shutdown()
            self.outbox.stop()
            self.key_cache.stop()
            if self.channel is not None:
                self.channel.stop()
                self.channel = None
            self.orders.close()
        self.db.dispose()

    def __enter__(self) -> "Market":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _publish_after_commit(self) -> None:
        """Publish what the commit added to the outbox; what fails stays there for the next try.

        A running market wakes its background publisher (market/outbox.py), so no request waits
        for the bus; a market that is not started publishes here.
        """
        outbox = getattr(self, "outbox", None)
        if self.running and outbox is not None:
            outbox.signal()
            return
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
        return self.uow.transaction(
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
