"""The engine: one book per instrument, the clock, expiries, auctions and the state hash."""

import hashlib
from collections.abc import Callable, Iterable
from heapq import heapify, heappop, heappush
from typing import Any

from .auction import plan_auction
from .book import Book
from .bookbase import BookBase, TradeCounter
from .checkpoint import (
    SNAPSHOT_FORMAT,
    capture_key,
    order_capture,
    order_from_record,
    record_of_capture,
    restore_key,
)
from .commands import (
    Amend,
    Cancel,
    Clock,
    Command,
    Limit,
    Market,
    Reduce,
    RunAuction,
    SetMode,
    Unwind,
    Update,
)
from .events import AuctionResult, Event, ModeChanged, Rejected, TradeUnwound
from .snapshot import book_state
from .types import Mode, TimeInForce

BookFactory = Callable[[str, TradeCounter], BookBase]


class Engine:
    """Applies commands to per-instrument books and returns the resulting events.

    Deterministic: the same command stream always yields the same events and state hash.
    """

    def __init__(self, book_factory: BookFactory | None = None) -> None:
        self.books: dict[str, BookBase] = {}
        self.counter = TradeCounter()
        self.now = 0
        self._factory: BookFactory = Book if book_factory is None else book_factory
        self._expiries: list[tuple[int, str, str]] = []
        # Heap size at which entries of orders that left early are weeded out (then doubled).
        self._expiries_limit = 1024
        self._schedule: dict[str, tuple[int, int]] = {}
        # The book of the last instrument named, found again by string identity: a stream of
        # commands mostly names one instrument with one string object (books are never dropped).
        self._last_instrument = ""
        self._last_book: BookBase | None = None

    def apply(self, cmd: Command) -> list[Event]:
        """Apply one command; bad commands yield `Rejected`, never an exception."""
        out: list[Event] = []
        self._apply(cmd, out)
        return out

    def apply_many(self, cmds: Iterable[Command]) -> list[Event]:
        """Apply commands in order and return all their events."""
        out: list[Event] = []
        for cmd in cmds:
            self._apply(cmd, out)
        return out

    def _apply(self, cmd: Command, out: list[Event]) -> None:
        """Route a command to its handler."""
        if isinstance(cmd, Limit):
            book = self._book_for(cmd.instrument, cmd.id, out)
            if book is not None:
                book.place(cmd, self.now, out)
                expires_at = cmd.expires_at
                if cmd.tif is TimeInForce.GTD and expires_at is not None and book.is_live(cmd.id):
                    heappush(self._expiries, (expires_at, cmd.instrument, cmd.id))
                    if len(self._expiries) > self._expiries_limit:
                        self._weed_expiries()
        elif isinstance(cmd, Cancel):
            book = self._existing(cmd.instrument, cmd.id, out)
            if book is not None:
                book.cancel(cmd, out)
        elif isinstance(cmd, Market):
            book = self._book_for(cmd.instrument, cmd.id, out)
            if book is not None:
                book.place(cmd, self.now, out)
        elif isinstance(cmd, Reduce):
            book = self._existing(cmd.instrument, cmd.id, out)
            if book is not None:
                book.reduce(cmd, out)
        elif isinstance(cmd, Amend):
            book = self._existing(cmd.instrument, cmd.id, out)
            if book is not None:
                book.amend(cmd, out)
        elif isinstance(cmd, Update):
            book = self._existing(cmd.instrument, cmd.id, out)
            if book is not None:
                book.update(cmd, out)
        elif isinstance(cmd, Clock):
            self._clock(cmd.now, out)
        elif isinstance(cmd, RunAuction):
            book = self._existing(cmd.instrument, "", out)
            if book is not None:
                if cmd.reference_price is not None and cmd.reference_price <= 0:
                    out.append(Rejected("", cmd.instrument, "reference price must be positive"))
                else:
                    self._auction(book, cmd.reference_price, out)
        elif isinstance(cmd, SetMode):
            self._set_mode(cmd, out)
        elif isinstance(cmd, Unwind):
            self._unwind(cmd, out)
        else:
            out.append(Rejected("", "", f"unknown command {type(cmd).__name__}"))

    def _book_for(self, instrument: str, order_id: str, out: list[Event]) -> BookBase | None:
        """The instrument's book, opened on first use (None with a rejection when unnamed)."""
        last = self._last_book
        if last is not None and instrument is self._last_instrument:
            return last
        book = self.books.get(instrument)
        if book is None:
            if not instrument:
                out.append(Rejected(order_id, instrument, "instrument must not be empty"))
                return None
            book = self._factory(instrument, self.counter)
            self.books[instrument] = book
        self._last_instrument = instrument
        self._last_book = book
        return book

    def _existing(self, instrument: str, order_id: str, out: list[Event]) -> BookBase | None:
        """The instrument's book, or None with a rejection when it has none."""
        last = self._last_book
        if last is not None and instrument is self._last_instrument:
            return last
        book = self.books.get(instrument)
        if book is None:
            reason = "no live order with this id" if order_id else "unknown instrument"
            out.append(Rejected(order_id, instrument, reason))
            return None
        self._last_instrument = instrument
        self._last_book = book
        return book

    def _clock(self, now: int, out: list[Event]) -> None:
        """Advance time: expire due orders and run due auctions, in time order."""
        if now < self.now:
            out.append(Rejected("", "", "the clock cannot move backwards"))
            return
        due = sorted((at, name) for name, (_, at) in self._schedule.items() if at <= now)
        for at, name in due:
            self._expire_until(at, out)
            self.now = at
            interval = self._schedule[name][0]
            # Missed intervals collapse into one auction; the next falls after `now`.
            self._schedule[name] = (interval, at + ((now - at) // interval + 1) * interval)
            self._auction(self.books[name], None, out)
        self._expire_until(now, out)
        self.now = now

    def _weed_expiries(self) -> None:
        """Drop heap entries of orders no longer live (cancelled or filled before expiry)."""
        books = self.books
        kept = [entry for entry in self._expiries if books[entry[1]].is_live(entry[2])]
        heapify(kept)
        self._expiries = kept
        self._expiries_limit = max(1024, 2 * len(kept))

    def _expire_until(self, moment: int, out: list[Event]) -> None:
        """Expire every GTD order whose expiry is at or before `moment`."""
        expiries = self._expiries
        while expiries and expiries[0][0] <= moment:
            expires_at, instrument, order_id = heappop(expiries)
            self.books[instrument].expire(order_id, expires_at, out)

    def _auction(self, book: BookBase, reference: int | None, out: list[Event]) -> None:
        """Run a call auction on one book now."""
        plan = plan_auction(book.live_orders(), book.last_price if reference is None else reference)
        out.append(AuctionResult(book.instrument, plan.price, plan.volume, plan.imbalance))
        price = plan.price
        if price is not None:
            for buy_id, sell_id, qty in plan.fills:
                book.auction_fill(buy_id, sell_id, qty, price, out)
        if not book.continuous:
            book.cancel_market_orders(out)

    def _unwind(self, cmd: Unwind, out: list[Event]) -> None:
        """Void a trade: the ask gets its licences back if it rests with a limited size."""
        if cmd.qty < 1 or not 0 < cmd.seq <= self.counter.seq:
            out.append(Rejected(cmd.sell_id, cmd.instrument, "no such trade to unwind"))
            return
        book = self._existing(cmd.instrument, cmd.sell_id, out)
        if book is None:
            return
        restored = book.give_back(cmd.sell_id, cmd.qty)
        out.append(
            TradeUnwound(cmd.seq, cmd.instrument, cmd.buy_id, cmd.sell_id, cmd.qty, restored)
        )

    def _set_mode(self, cmd: SetMode, out: list[Event]) -> None:
        """Switch trading mode; opening continuous trading runs an auction first."""
        interval = cmd.interval_ms
        if interval is not None and (interval <= 0 or cmd.mode is Mode.CONTINUOUS):
            out.append(
                Rejected("", cmd.instrument, "interval_ms is a positive period of periodic mode")
            )
            return
        book = self._book_for(cmd.instrument, "", out)
        if book is None:
            return
        self._schedule.pop(cmd.instrument, None)
        if cmd.mode is Mode.PERIODIC:
            book.continuous = False
            if interval is not None:
                self._schedule[cmd.instrument] = (interval, self.now + interval)
            out.append(ModeChanged(cmd.instrument, cmd.mode, interval))
            return
        if book.continuous:
            out.append(ModeChanged(cmd.instrument, cmd.mode, None))
            return
        self._auction(book, None, out)
        book.continuous = True
        out.append(ModeChanged(cmd.instrument, cmd.mode, None))
        book.uncross(out)

    def next_due_time(self) -> int | None:
        """The earliest time at which a `Clock` command expires an order or runs an auction.

        None when nothing is due at any time. Queue entries of orders that already left are
        dropped on the way (they would expire nothing), which changes no state the hash covers.
        """
        expiries = self._expiries
        books = self.books
        while expiries and not books[expiries[0][1]].is_live(expiries[0][2]):
            heappop(expiries)
        due: int | None = expiries[0][0] if expiries else None
        for _, at in self._schedule.values():
            if due is None or at < due:
                due = at
        return due

    def snapshot(self) -> dict[str, Any]:
        """The engine's whole state as JSON data (see `matching.checkpoint`)."""
        return render_capture(self.capture())

    def capture(self) -> dict[str, Any]:
        """What `snapshot` must read while nothing else changes the engine; `render_capture`
        turns it into the snapshot afterwards, while the engine goes on. The orders are taken
        unsorted, with their constraints and terms (immutable) left as objects: sorting them and
        turning those into JSON is most of a snapshot's work, so the engine waits far less."""
        books: list[dict[str, Any]] = []
        for name in sorted(self.books):
            book = self.books[name]
            schedule = self._schedule.get(name)
            books.append(
                {
                    "instrument": name,
                    "continuous": book.continuous,
                    "last_price": book.last_price,
                    "seq": book.seq,
                    "schedule": None if schedule is None else [schedule[0], schedule[1]],
                    # Sorted by `render_capture`, after the lock.
                    "orders": [order_capture(order) for order in book.live_orders_unsorted()],
                }
            )
        return {
            "format": SNAPSHOT_FORMAT,
            "now": self.now,
            "trades": self.counter.seq,
            "books": books,
        }

    def load_snapshot(self, data: dict[str, Any]) -> None:
        """Take the state of a snapshot into this fresh engine; raise ValueError when malformed."""
        if self.books or self.now or self.counter.seq:
            raise ValueError("a snapshot loads into a fresh engine only")
        if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a snapshot of format {SNAPSHOT_FORMAT}")
        self.now = int(data["now"])
        self.counter.seq = int(data["trades"])
        expiries: list[tuple[int, str, str]] = []
        for entry in data["books"]:
            name = str(entry["instrument"])
            book = self._factory(name, self.counter)
            self.books[name] = book
            orders = [order_from_record(record) for record in entry["orders"]]
            orders.sort(key=restore_key)
            last_price = entry["last_price"]
            book.restore(
                bool(entry["continuous"]),
                None if last_price is None else int(last_price),
                int(entry["seq"]),
                orders,
            )
            schedule = entry["schedule"]
            if schedule is not None:
                self._schedule[name] = (int(schedule[0]), int(schedule[1]))
            for order in orders:
                expires_at = order.expires_at
                if order.tif is TimeInForce.GTD and expires_at is not None:
                    expiries.append((expires_at, name, order.id))
        heapify(expiries)
        self._expiries = expiries
        self._expiries_limit = max(1024, 2 * len(expiries))

    def state_hash(self) -> str:
        """SHA-256 over every book's resting orders (id, price, size, attributes, queue order)."""
        parts: list[object] = [self.now, self.counter.seq]
        for name in sorted(self.books):
            book = self.books[name]
            parts.append(book_state(book, self._schedule.get(name)))
        return hashlib.sha256(repr(parts).encode()).hexdigest()

    def validate_internal_state(self) -> None:
        """Raise CorruptBook (an AssertionError) when any book is inconsistent."""
        for name in sorted(self.books):
            self.books[name].validate()


def render_capture(captured: dict[str, Any]) -> dict[str, Any]:
    """The snapshot of an `Engine.capture` (the capture is reused)."""
    for book in captured["books"]:
        orders = sorted(book["orders"], key=capture_key)
        book["orders"] = [record_of_capture(order) for order in orders]
    return captured
