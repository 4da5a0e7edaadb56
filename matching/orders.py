"""Resting orders and the price-level index that holds them."""

from typing import Final, final

from .terms import AskTerms, BidConstraints
from .types import MAX_PRICE, MAX_QTY, TimeInForce

# Ask rank folds quality into the price key: lower price first, then higher quality. Final
# constants are compiled in; a plain module global would be a dict lookup and a boxed int.
QUALITY_SPAN: Final = 128
QUALITY_MASK: Final = QUALITY_SPAN - 1
MARKET_RANK: Final = MAX_PRICE * QUALITY_SPAN


@final
class Order:
    """One live order: mutable state owned by a book (never handed out to callers).

    A resting order is a node of its level's doubly linked list (`prev`, `next`, `level`), so
    it leaves the book in O(1) without leaving anything behind.
    """

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
        # Fields a sweep reads of every candidate come first, then those of a trade, so that a
        # visit touches one or two cache lines of an order.
        self.seq = seq
        self.next: Order | None = None
        self.participant = participant
        self.class_bits = 0
        self.purpose_bits = 0
        self.quality = terms.quality if terms is not None else 0
        self.min_quality = 0
        self.simple = True
        self.unlimited = unlimited
        self.is_buy = is_buy
        self.is_market = is_market
        self.live = True
        self.qty = qty
        self.dataset: str | None = terms.dataset_id if terms is not None else None
        # Datasets this bid already bought: a bid for N licences wants N distinct datasets.
        distinct = is_buy and constraints is not None and constraints.dataset_id is None
        self.bought: set[str] | None = set() if distinct else None
        self.id = id
        self.price = price
        self.prev: Order | None = None
        self.level: Level | None = None
        self.tif = tif
        self.expires_at = expires_at
        self.constraints = constraints
        self.terms = terms

    def set_attributes(self, constraints: BidConstraints | None, terms: AskTerms | None) -> None:
        """Install new terms or constraints and recompute what depends on them."""
        self.constraints = constraints
        self.terms = terms
        self.quality = terms.quality if terms is not None else 0
        self.dataset = terms.dataset_id if terms is not None else None
        distinct = self.is_buy and constraints is not None and constraints.dataset_id is None
        if distinct and self.bought is None:
            self.bought = set()
        self.set_price(self.price)

    def set_price(self, price: int) -> None:
        """Set the limit price (the rank follows from it)."""
        self.price = price

    @property
    def rank(self) -> int:
        """Priority rank (higher goes first), derived rather than stored to keep orders small."""
        return rank_of(self.is_buy, self.is_market, self.price, self.quality)

    def remaining(self) -> int:
        """Licences still wanted or offered (a large number for an unlimited ask)."""
        return MAX_QTY if self.unlimited else self.qty

    def dataset_id(self) -> str | None:
        """The dataset an ask licenses (None for an ask without terms)."""
        return self.dataset


def rank_of(is_buy: bool, is_market: bool, price: int, quality: int) -> int:
    """Priority rank of an order (higher goes first): market orders, then by price and quality."""
    if is_market:
        return MARKET_RANK
    if is_buy:
        return price
    return quality - price * QUALITY_SPAN


@final
class Level:
    """Orders at one price (and, for asks, one quality) in time order: a doubly linked list."""

    def __init__(self, price: int, rank: int, bucket: "Bucket") -> None:
        self.price = price
        self.rank = rank
        self.bucket = bucket
        self.head: Order | None = None
        self.tail: Order | None = None
        self.count = 0

    def append(self, order: Order) -> None:
        """Link an order at the back (the newest time)."""
        tail = self.tail
        order.prev = tail
        order.next = None
        order.level = self
        if tail is None:
            self.head = order
        else:
            tail.next = order
        self.tail = order
        self.count += 1

    def insert(self, order: Order) -> None:
        """Link an order at its time position (the back, unless it kept an older time)."""
        after = self.tail
        seq = order.seq
        while after is not None and after.seq > seq:
            after = after.prev
        if after is self.tail:
            self.append(order)
            return
        before = self.head if after is None else after.next
        assert before is not None
        order.prev = after
        order.next = before
        order.level = self
        before.prev = order
        if after is None:
            self.head = order
        else:
            after.next = order
        self.count += 1

    def unlink(self, order: Order) -> None:
        """Take an order out of the list."""
        prev = order.prev
        after = order.next
        if prev is None:
            self.head = after
        else:
            prev.next = after
        if after is None:
            self.tail = prev
        else:
            after.prev = prev
        order.prev = None
        order.next = None
        order.level = None
        self.count -= 1

    def members(self) -> list[Order]:
        """The orders from head to tail (for checks and tests)."""
        found = []
        node = self.head
        while node is not None:
            found.append(node)
            node = node.next
        return found


@final
class Bucket:
    """One side's price levels for one index key, ranks ascending so the best is last.

    `ranks` and `line` (the levels in the same order) change together. Levels are found through
    `recent`, a small direct-mapped cache, else by a binary search over `ranks` in compiled code
    (unlike a dict keyed by rank, neither boxes an int).
    """

    def __init__(self, ladder: "Ladder | None" = None, key: int = 0) -> None:
        self.ranks: list[int] = []
        self.line: list[Level] = []
        self.best: Level | None = None
        self.recent: list[Level | None] = [None] * RECENT_SLOTS
        # A rung of a ladder (asks with terms at one price) leaves it when its last level goes.
        self.ladder = ladder
        self.key = key

    def level_for(self, price: int, rank: int) -> Level:
        """The level at this rank, created when missing."""
        slot = _slot(rank)
        cached = self.recent[slot]
        if cached is not None and cached.rank == rank:
            return cached
        level = self._find_or_add(price, rank)
        self.recent[slot] = level
        return level

    def _find_or_add(self, price: int, rank: int) -> Level:
        """The level at this rank from the sorted lists, created when missing."""
        ranks = self.ranks
        index = position(ranks, rank)
        if index < len(ranks) and ranks[index] == rank:
            return self.line[index]
        level = Level(price, rank, self)
        if index == len(ranks):
            self.best = level
        ranks.insert(index, rank)
        self.line.insert(index, level)
        return level

    def drop(self, level: Level) -> None:
        """Forget an empty level."""
        slot = _slot(level.rank)
        if self.recent[slot] is level:
            self.recent[slot] = None
        ranks = self.ranks
        line = self.line
        if line[-1] is level:
            ranks.pop()
            line.pop()
            if line:
                self.best = line[-1]
            else:
                self.best = None
                ladder = self.ladder
                if ladder is not None:
                    ladder.remove(self)
        else:
            index = position(ranks, level.rank)
            del ranks[index]
            del line[index]

    def below(self, rank: int) -> int:
        """Index in `ranks` of the best rank under `rank` (-1: none)."""
        return position(self.ranks, rank) - 1

    def below_near(self, price_rank: int, index: int) -> int:
        """`below(price_rank)`, searching only a window under the level at `index`.

        `price_rank` is the rank of quality 0 at some price, and the level at `index` is at that
        price or a worse one; a price has fewer than QUALITY_SPAN levels (one per quality).
        """
        ranks = self.ranks
        if index < 0 or ranks[index] < price_rank:
            return index
        low = index - QUALITY_SPAN
        if low < 0:
            low = 0
        while low < index:
            middle = (low + index) >> 1
            if ranks[middle] < price_rank:
                low = middle + 1
            else:
                index = middle
        return low - 1


@final
class Ladder:
    """Asks with terms of one data class: a bucket (rung) per price, the lowest price last.

    Asks with terms have a level per price and quality, so one flat line would be thousands of
    levels long and every new or emptied level would shift half of it. A rung holds one price's
    levels (at most one per quality) and the ladder's own line holds a rung per price; both stay
    short. Rungs are keyed by the negated price so that keys ascend towards the best, like ranks,
    and a sweep only removes rungs it has visited, which moves no lower index.
    """

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.rungs: list[Bucket] = []

    def bucket_for(self, price: int) -> Bucket:
        """The rung at this price, created when missing."""
        key = -price
        keys = self.keys
        index = position(keys, key)
        if index < len(keys) and keys[index] == key:
            return self.rungs[index]
        rung = Bucket(self, key)
        keys.insert(index, key)
        self.rungs.insert(index, rung)
        return rung

    def remove(self, rung: Bucket) -> None:
        """Forget a rung whose last level went."""
        keys = self.keys
        rungs = self.rungs
        if rungs[-1] is rung:
            keys.pop()
            rungs.pop()
            return
        index = position(keys, rung.key)
        del keys[index]
        del rungs[index]


RECENT_SLOTS: Final = 64


def _slot(rank: int) -> int:
    """Cache slot of a rank (mixes in the price bits of ask ranks, whose low 7 bits are quality)."""
    return (rank ^ (rank >> 7)) & (RECENT_SLOTS - 1)


def position(ranks: list[int], rank: int) -> int:
    """Index of the first rank not below `rank` (bisect_left, without boxing `rank`).

    New ranks mostly extend the line at its best end, which is checked first.
    """
    high = len(ranks)
    if high == 0 or ranks[high - 1] < rank:
        return high
    low = 0
    while low < high:
        middle = (low + high) >> 1
        if ranks[middle] < rank:
            low = middle + 1
        else:
            high = middle
    return low


def canonical_key(order: Order) -> tuple[int, int, int]:
    """Priority order across a whole side: bids before asks, best rank first, then time."""
    return (0 if order.is_buy else 1, -order.rank, order.seq)
