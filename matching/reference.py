"""Reference book: deliberately simple and slow, to check the fast book against.

Each side is one list of orders kept sorted by priority (best first); every search is a
scan. It shares only the rules with the fast book (validation, eligibility), never its
indexes.
"""

from bisect import bisect_left, insort

from .bookbase import BookBase, CorruptBook, TradeCounter
from .commands import Amend, Cancel, Limit, Market, Reduce, Update
from .events import (
    Accepted,
    Amended,
    Cancelled,
    Event,
    Expired,
    Reduced,
    Rejected,
    TradeExecuted,
    Updated,
)
from .orders import Order, canonical_key
from .terms import eligible
from .types import Side, TimeInForce
from .validation import (
    amend_problem,
    cancel_problem,
    order_problem,
    reduce_problem,
    update_problem,
)


class ReferenceBook(BookBase):
    """One sorted list per side and a dict of live orders."""

    def __init__(self, instrument: str, counter: TradeCounter) -> None:
        super().__init__(instrument, counter)
        self.orders: dict[str, Order] = {}
        self.bids: list[Order] = []
        self.asks: list[Order] = []

    def place(self, cmd: Limit | Market, now: int, out: list[Event]) -> None:
        """Validate, then trade and/or rest the order."""
        problem = order_problem(cmd, now, self.continuous)
        if problem is None and cmd.id in self.orders:
            problem = "an order with this id is live"
        if problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem))
            return
        out.append(Accepted(cmd.id, self.instrument))
        self.seq += 1
        is_limit = isinstance(cmd, Limit)
        order = Order(
            cmd.id,
            cmd.participant,
            cmd.side is Side.BUY,
            cmd.price if isinstance(cmd, Limit) else 0,
            cmd.qty or 0,
            cmd.qty is None,
            self.seq,
            cmd.tif,
            cmd.expires_at if isinstance(cmd, Limit) else None,
            not is_limit,
            cmd.constraints,
            cmd.terms,
        )
        if not self.continuous:
            self._add(order)
            return
        if order.tif is TimeInForce.FOK and self._fillable(order) < order.qty:
            out.append(Cancelled(order.id, self.instrument, order.qty, "fill-or-kill not filled"))
            return
        self._match(order, out)
        if not order.unlimited and order.qty == 0:
            return
        if order.tif in (TimeInForce.GTC, TimeInForce.GTD):
            self._add(order)
        else:
            left = None if order.unlimited else order.qty
            reason = "unfilled part of an immediate order"
            out.append(Cancelled(order.id, self.instrument, left, reason))

    def cancel(self, cmd: Cancel, out: list[Event]) -> None:
        """Remove a live order."""
        order = self.orders.get(cmd.id)
        problem = cancel_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        self._remove(order)
        out.append(Cancelled(order.id, self.instrument, _left(order), "cancelled"))

    def reduce(self, cmd: Reduce, out: list[Event]) -> None:
        """Take licences off a live order."""
        order = self.orders.get(cmd.id)
        problem = reduce_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        by = min(cmd.qty, order.qty)
        order.qty -= by
        if order.qty == 0:
            self._remove(order)
        out.append(Reduced(order.id, self.instrument, by, order.qty))

    def amend(self, cmd: Amend, out: list[Event]) -> None:
        """Change price and/or size; a new price or a larger size takes a new time."""
        order = self.orders.get(cmd.id)
        problem = amend_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        price = order.price if cmd.price is None else cmd.price
        qty = order.qty if cmd.qty is None else cmd.qty
        if price == order.price and qty <= order.qty:
            order.qty = qty
            out.append(Amended(order.id, self.instrument, price, _left(order)))
            return
        self._remove(order)
        self.seq += 1
        order.qty = qty
        order.seq = self.seq
        order.set_price(price)
        out.append(Amended(order.id, self.instrument, price, _left(order)))
        self._reenter(order, out)

    def update(self, cmd: Update, out: list[Event]) -> None:
        """Replace terms or constraints, keeping the order's time."""
        order = self.orders.get(cmd.id)
        problem = update_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        self._remove(order)
        order.set_attributes(cmd.constraints, cmd.terms)
        out.append(Updated(order.id, self.instrument))
        self._reenter(order, out)

    def give_back(self, order_id: str, qty: int) -> int:
        """Return `qty` licences of a voided trade to a live limited ask, keeping its place."""
        order = self.orders.get(order_id)
        if order is None or order.is_buy or order.is_market or order.unlimited:
            return 0
        order.qty += qty
        return qty

    def expire(self, order_id: str, expires_at: int, out: list[Event]) -> None:
        """Expire a due GTD order."""
        order = self.orders.get(order_id)
        if order is not None and order.expires_at == expires_at:
            self._remove(order)
            out.append(Expired(order.id, self.instrument, _left(order)))

    def is_live(self, order_id: str) -> bool:
        """Whether the order rests here."""
        return order_id in self.orders

    def live_orders(self) -> list[Order]:
        """Live orders in priority order."""
        return sorted(self.orders.values(), key=canonical_key)

    def live_orders_unsorted(self) -> list[Order]:
        return list(self.orders.values())

    def auction_fill(
        self, buy_id: str, sell_id: str, qty: int, price: int, out: list[Event]
    ) -> None:
        """Execute one auction allocation."""
        buy = self.orders[buy_id]
        sell = self.orders[sell_id]
        self._trade(buy, sell, qty, price, out)
        for order in (buy, sell):
            if not order.unlimited and order.qty == 0:
                self._remove(order)

    def cancel_market_orders(self, out: list[Event]) -> None:
        """Cancel market orders left after an auction."""
        for order in self.live_orders():
            if order.is_market:
                self._remove(order)
                reason = "not filled by the auction"
                out.append(Cancelled(order.id, self.instrument, _left(order), reason))

    def uncross(self, out: list[Event]) -> None:
        """Re-enter every order in time order."""
        for order in sorted(self.orders.values(), key=lambda o: o.seq):
            if order.id in self.orders and self.orders[order.id] is order:
                self._remove(order)
                self._reenter(order, out)

    def restore(
        self, continuous: bool, last_price: int | None, seq: int, orders: list[Order]
    ) -> None:
        """Take back a snapshot's state."""
        self.continuous = continuous
        self.last_price = last_price
        self.seq = seq
        for order in orders:
            self._add(order)

    def validate(self) -> None:
        """Sides sorted, holding exactly the live limit orders."""
        for side, is_buy in ((self.bids, True), (self.asks, False)):
            keys = [canonical_key(o) for o in side]
            if keys != sorted(keys) or any(o.is_buy != is_buy for o in side):
                raise CorruptBook("side out of order")
        resting = {id(o) for o in self.bids + self.asks}
        limits = {id(o) for o in self.orders.values() if not o.is_market}
        if resting != limits or len(resting) != len(self.bids) + len(self.asks):
            raise CorruptBook("sides and live orders disagree")
        if any(not o.unlimited and o.qty <= 0 for o in self.orders.values()):
            raise CorruptBook("an order rests with nothing left")

    def _reenter(self, order: Order, out: list[Event]) -> None:
        """Trade (continuous mode) and rest what is left."""
        if self.continuous and not order.is_market:
            self._match(order, out)
        if order.unlimited or order.qty > 0:
            self._add(order)

    def _add(self, order: Order) -> None:
        """Index a live order."""
        self.orders[order.id] = order
        if not order.is_market:
            insort(self.bids if order.is_buy else self.asks, order, key=canonical_key)

    def _remove(self, order: Order) -> None:
        """Forget an order."""
        del self.orders[order.id]
        if not order.is_market:
            # Priority keys are unique (they end in the order's time), so a bisect finds it.
            side = self.bids if order.is_buy else self.asks
            index = bisect_left(side, canonical_key(order), key=canonical_key)
            if index == len(side) or side[index] is not order:
                raise CorruptBook(f"{order.id} is not where its priority puts it")
            del side[index]

    def _candidates(self, taker: Order) -> list[Order]:
        """Opposite orders whose price crosses the taker's, best first."""
        found = []
        for maker in self.asks if taker.is_buy else self.bids:
            crosses = maker.price <= taker.price if taker.is_buy else maker.price >= taker.price
            if not (taker.is_market or crosses):
                break
            found.append(maker)
        return found

    def _match(self, taker: Order, out: list[Event]) -> None:
        """Trade with each eligible crossing order in priority order."""
        for maker in self._candidates(taker):
            if not taker.unlimited and taker.qty == 0:
                return
            qty = _pair_qty(taker, maker, taker.remaining(), set())
            if qty:
                self._trade(taker, maker, qty, maker.price, out)
                if not maker.unlimited and maker.qty == 0:
                    self._remove(maker)

    def _fillable(self, taker: Order) -> int:
        """Licences the taker would get now."""
        total = 0
        bought: set[str] = set()
        for maker in self._candidates(taker):
            qty = _pair_qty(taker, maker, taker.qty - total, bought)
            total += qty
            dataset = maker.dataset_id()
            if qty and dataset is not None:
                bought.add(dataset)
        return min(total, taker.qty)

    def _trade(self, taker: Order, maker: Order, qty: int, price: int, out: list[Event]) -> None:
        """Emit a trade and take its size off both orders."""
        buy, sell = (taker, maker) if taker.is_buy else (maker, taker)
        self.counter.seq += 1
        dataset = sell.dataset_id()
        event = TradeExecuted(
            self.counter.seq,
            self.instrument,
            buy.id,
            sell.id,
            buy.participant,
            sell.participant,
            price,
            qty,
            dataset,
        )
        out.append(event)
        self.last_price = price
        if buy.bought is not None and dataset is not None:
            buy.bought.add(dataset)
        for order in (buy, sell):
            if not order.unlimited:
                order.qty -= qty


def _pair_qty(taker: Order, maker: Order, want: int, pretend_bought: set[str]) -> int:
    """Licences the taker may trade with the maker (0: not allowed)."""
    buy, sell = (taker, maker) if taker.is_buy else (maker, taker)
    if not eligible(buy.participant, buy.constraints, sell.participant, sell.terms):
        return 0
    dataset = sell.dataset_id()
    if buy.bought is not None and dataset is not None:
        if dataset in buy.bought or (buy is taker and dataset in pretend_bought):
            return 0
        return 1
    return min(want, maker.remaining())


def _left(order: Order) -> int | None:
    """Remaining size as events report it."""
    return None if order.unlimited else order.qty
