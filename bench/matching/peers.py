"""Peer books driven by the same unconstrained stream: pyorderbook and a minimal book."""

from collections import deque
from decimal import Decimal
from typing import Any

from sortedcontainers import SortedDict


class MinimalBook:
    """A minimal price-time book: SortedDict of price levels, each a deque, lazy cancels."""

    def __init__(self) -> None:
        self.bids: SortedDict = SortedDict()
        self.asks: SortedDict = SortedDict()
        self.live: dict[str, list[Any]] = {}

    def limit(self, order_id: str, is_buy: bool, price: int, qty: int) -> int:
        """Match, then rest the remainder; returns the number of trades."""
        trades = 0
        book = self.asks if is_buy else self.bids
        while qty and book:
            best = book.peekitem(0 if is_buy else -1)[0]
            if (best > price) if is_buy else (best < price):
                break
            level = book[best]
            while qty and level:
                order = level[0]
                if order[1] == 0:
                    level.popleft()
                    continue
                take = min(qty, order[1])
                order[1] -= take
                qty -= take
                trades += 1
                if order[1] == 0:
                    level.popleft()
                    del self.live[order[0]]
            if not level:
                del book[best]
        if qty:
            order = [order_id, qty]
            side = self.bids if is_buy else self.asks
            level = side.get(price)
            if level is None:
                level = side[price] = deque()
            level.append(order)
            self.live[order_id] = order
        return trades

    def cancel(self, order_id: str) -> bool:
        """Cancel lazily (the level skips zero-size orders)."""
        order = self.live.pop(order_id, None)
        if order is None:
            return False
        order[1] = 0
        return True


def run_minimal(stream: list[tuple[int, str, bool, int, int]]) -> None:
    """Drive the minimal book."""
    book = MinimalBook()
    for kind, order_id, is_buy, price, qty in stream:
        if kind == 0:
            book.limit(order_id, is_buy, price, qty)
        else:
            book.cancel(order_id)


def prepare_pyorderbook(stream: list[tuple[int, str, bool, int, int]]) -> list[Any]:
    """Build pyorderbook orders ahead of timing (it needs Decimal prices and its own objects)."""
    from pyorderbook import ask, bid

    prepared: list[Any] = []
    by_id: dict[str, Any] = {}
    for kind, order_id, is_buy, price, qty in stream:
        if kind == 0:
            order = (bid if is_buy else ask)("bench", Decimal(price), qty)
            by_id[order_id] = order
            prepared.append((0, order))
        else:
            prepared.append((1, by_id.get(order_id)))
    return prepared


def run_pyorderbook(prepared: list[Any]) -> None:
    """Drive pyorderbook (cancel only what it still holds, as it raises otherwise)."""
    import logging

    from pyorderbook import Book

    logging.getLogger("pyorderbook").setLevel(logging.WARNING)
    book = Book()
    for kind, order in prepared:
        if kind == 0:
            book.match(order)
        elif order is not None and book.get_order(order.id) is not None:
            book.cancel(order)
