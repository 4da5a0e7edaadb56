"""The fast order book of one instrument: commands in, events out."""

from .checks import check_fast_book
from .commands import Amend, Cancel, Limit, Market, Reduce, Update
from .core import MatchingCore
from .events import (
    Accepted,
    Amended,
    Cancelled,
    Event,
    Expired,
    Reduced,
    Rejected,
    Updated,
)
from .orders import QUALITY_SPAN, Order, canonical_key
from .types import MAX_PRICE, MAX_QTY, Side, TimeInForce
from .validation import (
    amend_problem,
    cancel_problem,
    order_problem,
    reduce_problem,
    update_problem,
)


class Book(MatchingCore):
    """Price-level book with an id index, quality priority among asks and constraint buckets."""

    def place(self, cmd: Limit | Market, now: int, out: list[Event]) -> None:
        """Validate and place a limit or market order, trading it when the book is continuous."""
        if (
            isinstance(cmd, Limit)
            and cmd.constraints is None
            and cmd.terms is None
            and cmd.tif is TimeInForce.GTC
            and self.continuous
            and _plain_limit_valid(cmd)
        ):
            self._place_plain(cmd, out)
            return
        problem = order_problem(cmd, now, self.continuous)
        if problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem))
            return
        order = _new_order(cmd, self.seq + 1)
        orders = self.orders
        # One probe of the id index both refuses a live id and files the new order.
        if orders.setdefault(order.id, order) is not order:
            out.append(Rejected(cmd.id, self.instrument, "an order with this id is live"))
            return
        out.append(Accepted(cmd.id, self.instrument))
        self.seq += 1
        if order.constraints is not None or order.terms is not None:
            self.classify(order)
        if not self.continuous:
            if not order.is_market:
                self.rest(order)
            return
        tif = order.tif
        if tif is TimeInForce.FOK and self.fillable(order) < order.qty:
            del orders[order.id]
            out.append(Cancelled(order.id, self.instrument, order.qty, "fill-or-kill not filled"))
            return
        self.match(order, out)
        if not order.unlimited and order.qty == 0:
            order.live = False
            del orders[order.id]
            return
        if tif is TimeInForce.GTC or tif is TimeInForce.GTD:
            self.rest(order)
            return
        del orders[order.id]
        left = None if order.unlimited else order.qty
        out.append(
            Cancelled(order.id, self.instrument, left, "unfilled part of an immediate order")
        )

    def _place_plain(self, cmd: Limit, out: list[Event]) -> None:
        """Place a valid plain GTC limit order in continuous trading (the common case)."""
        is_buy = cmd.side is Side.BUY
        price = cmd.price
        order = Order(
            cmd.id,
            cmd.participant,
            is_buy,
            price,
            cmd.qty or 0,
            False,
            self.seq + 1,
            TimeInForce.GTC,
            None,
            False,
            None,
            None,
        )
        orders = self.orders
        if orders.setdefault(order.id, order) is not order:
            out.append(Rejected(cmd.id, self.instrument, "an order with this id is live"))
            return
        out.append(Accepted(cmd.id, self.instrument))
        self.seq += 1
        opposite = self.plain_asks if is_buy else self.plain_bids
        best = opposite.best
        if best is not None and (best.price <= price if is_buy else best.price >= price):
            self._sweep_plain(order, opposite, out)
            if order.qty == 0:
                order.live = False
                del orders[order.id]
                return
        if is_buy:
            self.plain_bids.level_for(price, price).append(order)
        else:
            # A plain ask has quality 0: its rank is -(price * QUALITY_SPAN) (see rank_of).
            # Negating after multiplying keeps compiled code on its fast path, which takes
            # non-negative factors only.
            self.plain_asks.level_for(price, -(price * QUALITY_SPAN)).append(order)

    def cancel(self, cmd: Cancel, out: list[Event]) -> None:
        """Remove a live order."""
        order = self.orders.get(cmd.id)
        problem = cancel_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        self.kill(order)
        left = None if order.unlimited else order.qty
        out.append(Cancelled(order.id, self.instrument, left, "cancelled"))

    def reduce(self, cmd: Reduce, out: list[Event]) -> None:
        """Take licences off a live order, keeping its place."""
        order = self.orders.get(cmd.id)
        problem = reduce_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        by = min(cmd.qty, order.qty)
        order.qty -= by
        if order.qty == 0:
            self.kill(order)
        out.append(Reduced(order.id, self.instrument, by, order.qty))

    def amend(self, cmd: Amend, out: list[Event]) -> None:
        """Change price and/or size; a new price or a larger size loses time priority."""
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
        self.seq += 1
        if order.is_market:
            order.qty = qty
            order.seq = self.seq
            out.append(Amended(order.id, self.instrument, price, _left(order)))
            return
        self.unrest(order)
        order.qty = qty
        order.seq = self.seq
        order.set_price(price)
        out.append(Amended(order.id, self.instrument, price, _left(order)))
        self._reenter(order, out)

    def update(self, cmd: Update, out: list[Event]) -> None:
        """Replace terms or constraints, keeping the order's time priority."""
        order = self.orders.get(cmd.id)
        problem = update_problem(order, cmd)
        if order is None or problem is not None:
            out.append(Rejected(cmd.id, self.instrument, problem or "no live order with this id"))
            return
        if order.is_market:
            order.set_attributes(cmd.constraints, cmd.terms)
            self.classify(order)
            out.append(Updated(order.id, self.instrument))
            return
        self.unrest(order)
        order.set_attributes(cmd.constraints, cmd.terms)
        self.classify(order)
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
        """Expire a GTD order whose expiry time is due (no-op when it already left)."""
        order = self.orders.get(order_id)
        if order is None or order.expires_at != expires_at:
            return
        self.kill(order)
        out.append(Expired(order.id, self.instrument, _left(order)))

    def is_live(self, order_id: str) -> bool:
        """Whether an order with this id rests in the book."""
        return order_id in self.orders

    def live_orders(self) -> list[Order]:
        """Live orders in priority order: bids then asks, market orders first."""
        return sorted(self.orders.values(), key=canonical_key)

    def live_orders_unsorted(self) -> list[Order]:
        return list(self.orders.values())

    def auction_fill(
        self, buy_id: str, sell_id: str, qty: int, price: int, out: list[Event]
    ) -> None:
        """Execute one allocation of a call auction at its uniform price."""
        buy = self.orders[buy_id]
        sell = self.orders[sell_id]
        self.trade(buy, sell, qty, price, out)
        if not buy.unlimited and buy.qty == 0:
            self.kill(buy)

    def cancel_market_orders(self, out: list[Event]) -> None:
        """Cancel market orders the auction left unfilled (they live for one auction)."""
        for order in self.live_orders():
            if order.is_market:
                self.kill(order)
                reason = "not filled by the auction"
                out.append(Cancelled(order.id, self.instrument, _left(order), reason))

    def uncross(self, out: list[Event]) -> None:
        """Re-enter every order in time order so continuous trading starts from an uncrossed book."""
        for order in sorted(self.orders.values(), key=_seq_of):
            if order.live and not order.is_market:
                # The order keeps its place while it trades: a sweep only touches the other side.
                self.match(order, out)
                if not order.unlimited and order.qty == 0:
                    self.kill(order)

    def restore(
        self, continuous: bool, last_price: int | None, seq: int, orders: list[Order]
    ) -> None:
        """Take back a snapshot's state: counters, then every live order in its bucket."""
        self.continuous = continuous
        self.last_price = last_price
        self._last_trade_price = 0 if last_price is None else last_price
        self.seq = seq
        index = self.orders
        for order in orders:
            index[order.id] = order
            if order.constraints is not None or order.terms is not None:
                self.classify(order)
            if not order.is_market:
                self.rest(order)

    def validate(self) -> None:
        """Raise CorruptBook when an index disagrees with the orders."""
        check_fast_book(self)

    def _reenter(self, order: Order, out: list[Event]) -> None:
        """Trade an order that left its level (continuous mode), then rest what is left."""
        if self.continuous:
            self.match(order, out)
        if order.unlimited or order.qty > 0:
            self.rest(order)
        else:
            order.live = False
            del self.orders[order.id]


def _plain_limit_valid(cmd: Limit) -> bool:
    """Whether a plain GTC limit order passes `order_problem` (a shortcut for the common case)."""
    qty = cmd.qty
    return (
        qty is not None
        and 0 < qty <= MAX_QTY
        and 0 < cmd.price <= MAX_PRICE
        and cmd.expires_at is None
        and bool(cmd.id)
        and bool(cmd.participant)
        and bool(cmd.instrument)
    )


def _new_order(cmd: Limit | Market, seq: int) -> Order:
    """The book's order for an accepted command."""
    qty = cmd.qty
    if isinstance(cmd, Limit):
        return Order(
            cmd.id,
            cmd.participant,
            cmd.side is Side.BUY,
            cmd.price,
            0 if qty is None else qty,
            qty is None,
            seq,
            cmd.tif,
            cmd.expires_at,
            False,
            cmd.constraints,
            cmd.terms,
        )
    return Order(
        cmd.id,
        cmd.participant,
        cmd.side is Side.BUY,
        0,
        0 if qty is None else qty,
        qty is None,
        seq,
        cmd.tif,
        None,
        True,
        cmd.constraints,
        cmd.terms,
    )


def _left(order: Order) -> int | None:
    """Remaining size as events report it (None for an unlimited ask)."""
    return None if order.unlimited else order.qty


def _seq_of(order: Order) -> int:
    """Sort key: arrival sequence."""
    return order.seq
