"""Matching core of the fast book: bucket index, price-priority sweeps, trades, removal."""

from typing import Final, cast

from .bookbase import BookBase, TradeCounter
from .events import Event, TradeExecuted
from .orders import QUALITY_MASK, Bucket, Ladder, Level, Order
from .terms import eligible


class MatchingCore(BookBase):
    """Resting orders indexed so that each incoming order visits only orders it may trade with.

    Every resting order lives in exactly one bucket: plain orders (no terms, no constraints) in
    one bucket per side, asks with terms in one bucket per (data class, price) — the rungs of a
    `Ladder` per data class — and constrained bids in one bucket per (purpose, accepted data
    classes). A constrained bid sweeps the ladders of the data classes it accepts price by price
    and an ask with terms the bid buckets of the purposes it allows that accept its data class,
    merged in priority order. Purpose, data class and quality are checked
    from precomputed bits (`classify`); the full `eligible` only runs for orders with rarer
    constraints. Ask levels carry a single quality, so a bid skips the levels below its
    `min_quality`.
    """

    def __init__(self, instrument: str, counter: TradeCounter) -> None:
        super().__init__(instrument, counter)
        self.orders: dict[str, Order] = id_index()
        self.plain_bids = Bucket()
        self.plain_asks = Bucket()
        # Asks with terms by the bit of their data class (see CLASS_BITS), a bucket per price.
        self.ask_ladders: list[Ladder | None] = [None] * 8
        # Constrained bids by purpose, then by the set of data classes accepted (a 3-bit mask).
        self.bid_by_purpose: dict[str, list[Bucket | None]] = {}
        # The same slot lists with their purpose bits, for asks to walk without hashing.
        self.bid_purpose_bits: list[int] = []
        self.bid_purpose_slots: list[list[Bucket | None]] = []
        self.purpose_bit: dict[str, int] = {}
        # One string object per participant and dataset among constrained orders keeps them in
        # cache and makes comparisons and set lookups identity checks.
        self.names: dict[str, str] = {}
        # At least the highest price of any resting constrained bid (exact after a fruitless
        # scan): most asks with terms are priced above every such bid and skip the scan.
        self.bid_ceiling = 0
        self._dry_fill = 0
        self._dry_bought: set[str] = set()
        self._last_trade_price = 0

    def classify(self, order: Order) -> None:
        """Store the order's prefilter bits (after its terms or constraints change)."""
        class_bits, purpose_bits, min_quality, simple = self.prefilter(order)
        order.class_bits = class_bits
        order.purpose_bits = purpose_bits
        order.min_quality = min_quality
        order.simple = simple
        names = self.names
        order.participant = names.setdefault(order.participant, order.participant)
        terms = order.terms
        if terms is not None:
            order.dataset = names.setdefault(terms.dataset_id, terms.dataset_id)

    def prefilter(self, order: Order) -> tuple[int, int, int, bool]:
        """Data class bits, purpose bits, minimum quality and whether bits decide eligibility.

        Bits hold for a constrained bid and an ask with terms exactly when the data class and
        purpose fit; when both orders are `simple`, quality and self-trade settle the rest.
        """
        constraints = order.constraints
        if constraints is not None:
            # Three membership tests (string hashes are cached) beat hashing a new frozenset.
            accepted = constraints.data_classes
            classes = (
                (PERSONAL if "personal" in accepted else 0)
                | (ANONYMIZED if "anonymized" in accepted else 0)
                | (NON_PERSONAL if "non_personal" in accepted else 0)
            )
            simple = (
                constraints.min_k is None
                and constraints.dataset_id is None
                and not constraints.required_tags
                and not constraints.required_columns
                and constraints.min_term_days is None
                and constraints.exclusive is None
                and not constraints.held_datasets
            )
            purpose = self.purpose_bits_of(constraints.purpose)
            return classes, purpose, constraints.min_quality, simple
        terms = order.terms
        if terms is not None:
            purposes = 0
            for purpose_code in terms.allowed_purposes:
                purposes |= self.purpose_bits_of(purpose_code)
            simple = (
                not terms.allowed_recipients
                and not terms.denied_recipients
                and terms.purpose_recipients is None
                and not terms.linkable
            )
            return CLASS_BITS.get(terms.data_class, 0), purposes, 0, simple
        return 0, 0, 0, True

    def purpose_bits_of(self, purpose: str) -> int:
        """The bit standing for a purpose in this book (assigned on first sight)."""
        bit = self.purpose_bit.get(purpose)
        if bit is None:
            bit = 1 << len(self.purpose_bit)
            self.purpose_bit[purpose] = bit
        return bit

    def home_bucket(self, order: Order) -> Bucket:
        """The bucket an order rests in (created when missing)."""
        if order.is_buy:
            constraints = order.constraints
            if constraints is None:
                return self.plain_bids
            by_classes = self.bid_by_purpose.get(constraints.purpose)
            if by_classes is None:
                by_classes = [None] * 8
                self.bid_by_purpose[constraints.purpose] = by_classes
                self.bid_purpose_bits.append(order.purpose_bits)
                self.bid_purpose_slots.append(by_classes)
            classes = order.class_bits
            bucket = by_classes[classes]
            if bucket is None:
                bucket = Bucket()
                by_classes[classes] = bucket
            return bucket
        if order.terms is None:
            return self.plain_asks
        ladder = self.ask_ladders[order.class_bits]
        if ladder is None:
            ladder = Ladder()
            self.ask_ladders[order.class_bits] = ladder
        return ladder.bucket_for(order.price)

    def opposite_buckets(self, order: Order) -> list[Bucket]:
        """The buckets holding every order this one may trade with, whose best level crosses."""
        found: list[Bucket] = []
        if order.is_buy:
            # A constrained bid sweeps the ladders of asks with terms instead (`_sweep_ladders`).
            _add_crossing(found, self.plain_asks, order)
            return found
        if order.terms is None:
            _add_crossing(found, self.plain_bids, order)
            return found
        market = order.is_market
        price = order.price
        if not market and price > self.bid_ceiling:
            return found
        masks = CLASS_MASKS[order.class_bits]
        purposes = order.purpose_bits
        all_slots = self.bid_purpose_slots
        for index, bit in enumerate(self.bid_purpose_bits):
            if purposes & bit:
                slots = all_slots[index]
                for classes in masks:
                    bucket = slots[classes]
                    if bucket is not None:
                        best = bucket.best
                        if best is not None and (market or best.price >= price):
                            found.append(bucket)
        if not found and not market:
            self.bid_ceiling = self.constrained_bid_top()
        return found

    def constrained_bid_top(self) -> int:
        """The highest price among resting constrained bids (0: none)."""
        top = 0
        for slots in self.bid_purpose_slots:
            for bucket in slots:
                if bucket is not None:
                    best = bucket.best
                    if best is not None and best.price > top:
                        top = best.price
        return top

    def rest(self, order: Order) -> None:
        """Link a live order into its level."""
        if order.is_buy and order.constraints is not None and order.price > self.bid_ceiling:
            self.bid_ceiling = order.price
        self.home_bucket(order).level_for(order.price, order.rank).insert(order)

    def unrest(self, order: Order) -> None:
        """Unlink an order from its level, keeping it in the id index."""
        level = order.level
        if level is not None:
            level.unlink(order)
            if level.count == 0:
                level.bucket.drop(level)

    def kill(self, order: Order) -> None:
        """Remove an order from the book."""
        order.live = False
        self.unrest(order)
        del self.orders[order.id]

    def match(self, taker: Order, out: list[Event]) -> None:
        """Trade an incoming order against eligible resting orders, best first."""
        if taker.constraints is None and taker.terms is None:
            self._sweep_plain(taker, self.plain_asks if taker.is_buy else self.plain_bids, out)
            return
        if taker.is_buy:
            self._sweep_ladders(taker, out, False)
            return
        buckets = self.opposite_buckets(taker)
        if buckets:
            self._sweep(taker, buckets, out, False)

    def fillable(self, taker: Order) -> int:
        """How many licences the order would get now, without trading (for fill-or-kill)."""
        self._dry_fill = 0
        self._dry_bought = set()
        if taker.is_buy and taker.constraints is not None:
            self._sweep_ladders(taker, [], True)
            return self._dry_fill
        buckets = self.opposite_buckets(taker)
        if buckets:
            self._sweep(taker, buckets, [], True)
        return self._dry_fill

    def _sweep_ladders(self, taker: Order, out: list[Event], dry: bool) -> None:
        """Sweep the asks with terms of the classes a constrained bid accepts, price by price.

        At each price, the rungs of every accepted class at that price are swept together (best
        quality first, equal quality merged by time); then the next price.
        """
        ladders: list[Ladder] = []
        for bit in (PERSONAL, ANONYMIZED, NON_PERSONAL):
            if taker.class_bits & bit:
                ladder = self.ask_ladders[bit]
                if ladder is not None and ladder.rungs:
                    ladders.append(ladder)
        count = len(ladders)
        if count == 0:
            return
        market = taker.is_market
        limit = taker.price
        cursors = [len(ladder.rungs) - 1 for ladder in ladders]
        while self._wants(taker, dry):
            # Keys are negated prices: the largest is the lowest price.
            best = 0
            pick = -1
            for j in range(count):
                cursor = cursors[j]
                if cursor >= 0:
                    key = ladders[j].keys[cursor]
                    if pick < 0 or key > best:
                        best = key
                        pick = j
            if pick < 0 or (not market and -best > limit):
                return
            if count == 1:
                rung = ladders[0].rungs[cursors[0]]
                cursors[0] -= 1
                self._sweep_one(taker, rung, out, dry)
                continue
            rungs: list[Bucket] = []
            for j in range(count):
                cursor = cursors[j]
                if cursor >= 0 and ladders[j].keys[cursor] == best:
                    rungs.append(ladders[j].rungs[cursor])
                    cursors[j] = cursor - 1
            self._sweep(taker, rungs, out, dry)

    def _sweep_plain(self, taker: Order, bucket: Bucket, out: list[Event]) -> None:
        """Trade a plain order with the plain orders of one bucket (the fast path)."""
        best = bucket.best
        if best is None:
            return
        market = taker.is_market
        is_buy = taker.is_buy
        limit = taker.price
        if not market and (best.price > limit if is_buy else best.price < limit):
            return
        participant = taker.participant
        line = bucket.line
        index = len(line) - 1
        while index >= 0:
            level = line[index]
            price = level.price
            if not market and (price > limit if is_buy else price < limit):
                return
            maker = level.head
            while maker is not None:
                after = maker.next
                # Self-trade prevention: the resting order is skipped.
                if maker.participant != participant:
                    self.trade(taker, maker, min(taker.remaining(), maker.remaining()), price, out)
                    if not taker.unlimited and taker.qty == 0:
                        return
                maker = after
            # Dropping the emptied level removes line[index] only; lower indexes stay put.
            index -= 1

    def _sweep(self, taker: Order, buckets: list[Bucket], out: list[Event], dry: bool) -> None:
        """Visit levels across buckets in rank order while they cross the taker's price."""
        if len(buckets) == 1:
            self._sweep_one(taker, buckets[0], out, dry)
        else:
            self._sweep_many(taker, buckets, out, dry)

    def _sweep_one(self, taker: Order, bucket: Bucket, out: list[Event], dry: bool) -> None:
        """Visit one bucket's levels best first while they cross the taker's price.

        A sweep only removes levels it has visited, which never moves a lower index.
        """
        is_buy = taker.is_buy
        market = taker.is_market
        limit = taker.price
        min_quality = taker.min_quality if is_buy else 0
        line = bucket.line
        index = len(line) - 1
        while index >= 0 and self._wants(taker, dry):
            level = line[index]
            price = level.price
            if not market and (price > limit if is_buy else price < limit):
                return
            rank = level.rank
            quality = rank & QUALITY_MASK
            if quality < min_quality:
                # Ask levels below the bid's minimum quality: skip the rest of this price.
                index = bucket.below_near(rank - quality, index)
                continue
            self._take(taker, level.head, out, dry)
            index -= 1

    def _sweep_many(self, taker: Order, buckets: list[Bucket], out: list[Event], dry: bool) -> None:
        """Visit levels across buckets in rank order; equal ranks are merged by time.

        Each bucket keeps a cursor into its line and the level there; a sweep only removes
        levels it has visited, which never moves a cursor. Asks with terms have about one order
        per level, so the common step (one bucket holds the best rank) allocates nothing.
        """
        is_buy = taker.is_buy
        market = taker.is_market
        limit = taker.price
        min_quality = taker.min_quality if is_buy else 0
        count = len(buckets)
        cursors = [len(bucket.line) - 1 for bucket in buckets]
        current: list[Level | None] = [bucket.line[-1] for bucket in buckets]
        while self._wants(taker, dry):
            best = 0
            pick = -1
            ties = 0
            for j in range(count):
                level = current[j]
                if level is not None:
                    rank = level.rank
                    if pick < 0 or rank > best:
                        best = rank
                        pick = j
                        ties = 1
                    elif rank == best:
                        ties += 1
            if pick < 0:
                return
            chosen = current[pick]
            assert chosen is not None
            price = chosen.price
            if not market and (price > limit if is_buy else price < limit):
                return
            quality = best & QUALITY_MASK
            if quality < min_quality:
                # Ask levels below the bid's minimum quality: skip the rest of this price.
                for j in range(count):
                    bucket = buckets[j]
                    index = bucket.below_near(best - quality, cursors[j])
                    cursors[j] = index
                    current[j] = bucket.line[index] if index >= 0 else None
                continue
            if ties == 1:
                index = cursors[pick] - 1
                cursors[pick] = index
                current[pick] = buckets[pick].line[index] if index >= 0 else None
                self._take(taker, chosen.head, out, dry)
                continue
            heads: list[Order | None] = []
            for j in range(count):
                level = current[j]
                if level is not None and level.rank == best:
                    heads.append(level.head)
                    index = cursors[j] - 1
                    cursors[j] = index
                    current[j] = buckets[j].line[index] if index >= 0 else None
            if len(heads) == 2:
                self._take_two(taker, heads[0], heads[1], out, dry)
            else:
                self._take_merged(taker, heads, out, dry)

    def _take(self, taker: Order, maker: Order | None, out: list[Event], dry: bool) -> None:
        """Trade with the eligible orders of one level in time order."""
        if dry:
            while maker is not None and self._wants(taker, True):
                after = maker.next
                self._offer(taker, maker, out, True)
                maker = after
            return
        # The trading path, with `_wants` and `_offer` inlined: it runs once per candidate.
        while maker is not None and (taker.unlimited or taker.qty > 0):
            after = maker.next
            qty = self._pair_qty(taker, maker, False)
            if qty != 0:
                self.trade(taker, maker, qty, maker.price, out)
            maker = after

    def _take_merged(
        self, taker: Order, heads: list[Order | None], out: list[Event], dry: bool
    ) -> None:
        """Trade with the eligible orders of three or more equal-rank levels, merged by time."""
        while self._wants(taker, dry):
            pick = -1
            first: Order | None = None
            first_seq = 0
            for index, node in enumerate(heads):
                if node is not None and (first is None or node.seq < first_seq):
                    first = node
                    first_seq = node.seq
                    pick = index
            if first is None:
                return
            heads[pick] = first.next
            self._offer(taker, first, out, dry)

    def _take_two(
        self, taker: Order, one: Order | None, other: Order | None, out: list[Event], dry: bool
    ) -> None:
        """Trade with the eligible orders of two equal-rank levels, merged by time."""
        while self._wants(taker, dry):
            if one is not None and (other is None or one.seq < other.seq):
                node = one
                one = one.next
            elif other is not None:
                node = other
                other = other.next
            else:
                return
            if dry:
                self._offer(taker, node, out, True)
                continue
            qty = self._pair_qty(taker, node, False)
            if qty != 0:
                self.trade(taker, node, qty, node.price, out)

    def _offer(self, taker: Order, maker: Order, out: list[Event], dry: bool) -> None:
        """Trade (or, dry, count) what the taker may take from one maker."""
        qty = self._pair_qty(taker, maker, dry)
        if qty == 0:
            return
        if dry:
            self._dry_fill += qty
            if taker.bought is not None:
                dataset = maker.dataset
                if dataset is not None:
                    self._dry_bought.add(dataset)
            return
        self.trade(taker, maker, qty, maker.price, out)

    def _wants(self, taker: Order, dry: bool) -> bool:
        """Whether the taker still wants to trade."""
        if dry:
            return taker.qty > self._dry_fill
        return taker.unlimited or taker.qty > 0

    def _pair_qty(self, taker: Order, maker: Order, dry: bool) -> int:
        """Licences the taker may trade with this maker now (0: not eligible)."""
        if taker.is_buy:
            buy = taker
            sell = maker
        else:
            buy = maker
            sell = taker
        # Bits first, the most selective and cheapest test: terms and constraints are read,
        # which costs a cache miss per candidate, only for orders with rarer constraints.
        if not buy.class_bits & sell.class_bits:
            if buy.class_bits != 0 or sell.class_bits != 0:
                return 0
            # Two plain orders (a fill-or-kill check): only self-trade prevention applies.
            if taker.participant == maker.participant:
                return 0
            return min(taker.qty - self._dry_fill if dry else taker.remaining(), maker.remaining())
        if not buy.purpose_bits & sell.purpose_bits or sell.quality < buy.min_quality:
            return 0
        # Both orders are classified, so their participant names are the book's interned
        # strings: identity is equality.
        if taker.participant is maker.participant:
            return 0
        if not (buy.simple and sell.simple) and not eligible(
            buy.participant, buy.constraints, sell.participant, sell.terms
        ):
            return 0
        if buy.bought is not None:
            # One licence per dataset: a bid for N licences wants N distinct datasets.
            dataset = sell.dataset
            if dataset in buy.bought:
                return 0
            if dry and dataset in self._dry_bought:
                return 0
            return 1
        return min(taker.qty - self._dry_fill if dry else taker.remaining(), maker.remaining())

    def trade(self, taker: Order, maker: Order, qty: int, price: int, out: list[Event]) -> None:
        """Record a trade and take its quantity off both orders."""
        if taker.is_buy:
            buy = taker
            sell = maker
        else:
            buy = maker
            sell = taker
        counter = self.counter
        counter.seq += 1
        dataset = sell.dataset
        out.append(
            TradeExecuted(
                counter.seq,
                self.instrument,
                buy.id,
                sell.id,
                buy.participant,
                sell.participant,
                price,
                qty,
                dataset,
            )
        )
        if price != self._last_trade_price:
            # last_price holds a boxed int; rewrite it only when the price moves.
            self._last_trade_price = price
            self.last_price = price
        bought = buy.bought
        if bought is not None and dataset is not None:
            bought.add(dataset)
        if not taker.unlimited:
            taker.qty -= qty
        if not maker.unlimited:
            maker.qty -= qty
            if maker.qty == 0:
                self.kill(maker)


PERSONAL: Final = 1
ANONYMIZED: Final = 2
NON_PERSONAL: Final = 4
CLASS_BITS: Final[dict[str, int]] = {
    "personal": PERSONAL,
    "anonymized": ANONYMIZED,
    "non_personal": NON_PERSONAL,
}
# For an ask's data class bit: every mask of accepted data classes that contains it.
CLASS_MASKS: Final[list[list[int]]] = [[m for m in range(8) if m & bit] for bit in range(8)]


def _add_crossing(found: list[Bucket], bucket: Bucket, taker: Order) -> None:
    """Add the bucket when its best level crosses the taker's price."""
    best = bucket.best
    if best is None:
        return
    if not taker.is_market and (
        best.price > taker.price if taker.is_buy else best.price < taker.price
    ):
        return
    found.append(bucket)


def id_index() -> dict[str, Order]:
    """An empty id -> order dict whose entries keep the hashes of their keys.

    CPython stores a dict of str keys in a compact layout without hashes, so each probe that
    meets another key reads that key's string: a cache miss per probe once the index holds
    hundreds of thousands of orders. A non-str key, added and removed, switches the dict to
    the general layout (hash in the entry) for the rest of its life.
    """
    index: dict[object, object] = {0: None}
    del index[0]
    return cast("dict[str, Order]", index)
