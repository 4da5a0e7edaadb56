"""Resting orders and the price-level index that holds them."""

from bisect import bisect_left, insort

from .terms import AskTerms, BidConstraints
from .types import MAX_PRICE, MAX_QTY, TimeInForce

# Ask rank folds quality into the price key: lower price first, then higher quality.
QUALITY_SPAN = 128
MARKET_RANK = MAX_PRICE * QUALITY_SPAN


class Order:
    """One live order: mutable state owned by a book (never handed out to callers)."""

    def __init__(
        self,
        id: str,
        participant: str,
        is_buy: bool,
        price: int,
        qty: int,
        unlimited: bool,
        seq: int,
        tif: TimeInForce,
        expires_at: int | None,
        is_market: bool,
        constraints: BidConstraints | None,
        terms: AskTerms | None,
    ) -> None:
        self.id = id
        self.participant = participant
        self.is_buy = is_buy
        self.price = price
        self.qty = qty
        self.unlimited = unlimited
        self.seq = seq
        self.tif = tif
        self.expires_at = expires_at
        self.is_market = is_market
        self.constraints = constraints
        self.terms = terms
        self.live = True
        self.quality = 0
        self.rank = 0
        # Datasets this bid already bought: a bid for N licences wants N distinct datasets.
        self.bought: set[str] | None = None
        self.levels: list[Level] = []
        self.set_attributes(constraints, terms)

    def set_attributes(self, constraints: BidConstraints | None, terms: AskTerms | None) -> None:
        """Install new terms or constraints and recompute what depends on them."""
        self.constraints = constraints
        self.terms = terms
        self.quality = terms.quality if terms is not None else 0
        distinct = self.is_buy and constraints is not None and constraints.dataset_id is None
        if distinct and self.bought is None:
            self.bought = set()
        self.set_price(self.price)

    def set_price(self, price: int) -> None:
        """Set the limit price and the priority rank derived from it (higher rank goes first)."""
        self.price = price
        if self.is_market:
            self.rank = MARKET_RANK
        elif self.is_buy:
            self.rank = price
        else:
            self.rank = self.quality - price * QUALITY_SPAN

    def remaining(self) -> int:
        """Licences still wanted or offered (a large number for an unlimited ask)."""
        return MAX_QTY if self.unlimited else self.qty

    def dataset_id(self) -> str | None:
        """The dataset an ask licenses (None for an ask without terms)."""
        terms = self.terms
        return terms.dataset_id if terms is not None else None


class Level:
    """Orders at one price (and, for asks, one quality) in time order, with lazy deletion."""

    def __init__(self, price: int, rank: int, bucket: "Bucket") -> None:
        self.price = price
        self.rank = rank
        self.bucket = bucket
        self.orders: list[Order] = []
        self.head = 0
        self.live = 0

    def add(self, order: Order) -> None:
        """Insert an order at its time position (the end, unless it kept an older time)."""
        orders = self.orders
        if not orders or orders[-1].seq < order.seq:
            orders.append(order)
        else:
            insort(orders, order, key=_seq_of)
        self.live += 1
        # Cancelled orders stay in the list until passed; compact when they dominate it.
        if len(orders) - self.head > 2 * self.live + 16:
            self.orders = [o for o in orders[self.head :] if o.live]
            self.head = 0

    def remove(self, order: Order) -> None:
        """Take a live order out at once (it is about to re-enter somewhere else)."""
        orders = self.orders
        index = bisect_left(orders, order.seq, lo=self.head, key=_seq_of)
        while orders[index] is not order:
            index += 1
        del orders[index]
        self.live -= 1

    def advance(self) -> None:
        """Move the head past dead orders."""
        orders = self.orders
        head = self.head
        end = len(orders)
        while head < end and not orders[head].live:
            head += 1
        if head > 32 and head * 2 > end:
            del orders[:head]
            head = 0
        self.head = head


class Bucket:
    """One side's price levels for one index key, ranks ascending so the best is last."""

    def __init__(self) -> None:
        self.ranks: list[int] = []
        self.levels: dict[int, Level] = {}

    def level_for(self, price: int, rank: int) -> Level:
        """The level at this rank, created when missing."""
        level = self.levels.get(rank)
        if level is None:
            level = Level(price, rank, self)
            self.levels[rank] = level
            ranks = self.ranks
            if not ranks or ranks[-1] < rank:
                ranks.append(rank)
            else:
                insort(ranks, rank)
        return level

    def drop(self, level: Level) -> None:
        """Forget an empty level."""
        ranks = self.ranks
        rank = level.rank
        if ranks[-1] == rank:
            ranks.pop()
        else:
            del ranks[bisect_left(ranks, rank)]
        del self.levels[rank]


def _seq_of(order: Order) -> int:
    """Sort key of orders within a level: arrival sequence."""
    return order.seq


def canonical_key(order: Order) -> tuple[int, int, int]:
    """Priority order across a whole side: bids before asks, best rank first, then time."""
    return (0 if order.is_buy else 1, -order.rank, order.seq)
