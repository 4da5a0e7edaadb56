"""What the engine needs of a book: one interface shared by the fast and the reference book."""

from matching.errors import CorruptBook

from .commands import Amend, Cancel, Limit, Market, Reduce, Update
from .events import Event
from .orders import Order

__all__ = ["BookBase", "CorruptBook", "TradeCounter"]


class TradeCounter:
    """Sequence numbers of trades, shared by every book of an engine."""

    def __init__(self) -> None:
        self.seq = 0


class BookBase:
    """The order book of one instrument, driven by the engine."""

    def __init__(self, instrument: str, counter: TradeCounter) -> None:
        self.instrument = instrument
        self.counter = counter
        self.continuous = True
        self.last_price: int | None = None
        self.seq = 0

    def place(self, cmd: Limit | Market, now: int, out: list[Event]) -> None:
        """Validate and place an order, trading it when the book is continuous."""
        raise NotImplementedError

    def cancel(self, cmd: Cancel, out: list[Event]) -> None:
        """Remove a live order."""
        raise NotImplementedError

    def reduce(self, cmd: Reduce, out: list[Event]) -> None:
        """Take licences off a live order, keeping its place."""
        raise NotImplementedError

    def amend(self, cmd: Amend, out: list[Event]) -> None:
        """Change price and/or size of a live order."""
        raise NotImplementedError

    def update(self, cmd: Update, out: list[Event]) -> None:
        """Replace terms or constraints of a live order, keeping its time."""
        raise NotImplementedError

    def give_back(self, order_id: str, qty: int) -> int:
        """Return `qty` licences of a voided trade to a live limited ask, keeping its place.

        Returns the licences given back: 0 when the order is gone, a bid, a market order or an
        unlimited ask (which lost none).
        """
        raise NotImplementedError

    def expire(self, order_id: str, expires_at: int, out: list[Event]) -> None:
        """Expire a GTD order whose time is due."""
        raise NotImplementedError

    def is_live(self, order_id: str) -> bool:
        """Whether an order with this id rests in the book."""
        raise NotImplementedError

    def live_orders(self) -> list[Order]:
        """Live orders in priority order (see `orders.canonical_key`)."""
        raise NotImplementedError

    def live_orders_unsorted(self) -> list[Order]:
        """Live orders in no particular order: cheaper than `live_orders` for a caller that
        sorts them later (a snapshot's capture, `checkpoint.capture_key`)."""
        raise NotImplementedError

    def auction_fill(
        self, buy_id: str, sell_id: str, qty: int, price: int, out: list[Event]
    ) -> None:
        """Execute one allocation of a call auction."""
        raise NotImplementedError

    def cancel_market_orders(self, out: list[Event]) -> None:
        """Cancel market orders left after an auction."""
        raise NotImplementedError

    def uncross(self, out: list[Event]) -> None:
        """Trade away eligible crossing orders left by periodic mode."""
        raise NotImplementedError

    def restore(
        self, continuous: bool, last_price: int | None, seq: int, orders: list[Order]
    ) -> None:
        """Take back a snapshot's state: an empty book gets its counters and live orders.

        `orders` come in `checkpoint.restore_key` order.
        """
        raise NotImplementedError

    def validate(self) -> None:
        """Raise CorruptBook when internal state is inconsistent."""
        raise NotImplementedError
