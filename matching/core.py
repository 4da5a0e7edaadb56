"""Matching core of the fast book: bucket index, price-priority walk, trades, removal."""

from bisect import bisect_left

from .bookbase import BookBase, TradeCounter
from .events import Event, TradeExecuted
from .orders import MARKET_RANK, Bucket, Order
from .terms import eligible


class MatchingCore(BookBase):
    """Resting orders indexed so that each incoming order walks only buckets it may trade with.

    Plain orders (no terms, no constraints) live in one bucket per side. A constrained bid lives
    in one bucket per accepted data class under its purpose; an ask with terms lives in one
    bucket per allowed purpose under its data class. An incoming order therefore visits only
    counterparties with a matching (data class, purpose); the remaining checks run per candidate.
    """

    def __init__(self, instrument: str, counter: TradeCounter) -> None:
        super().__init__(instrument, counter)
        self.orders: dict[str, Order] = {}
        self.plain_bids = Bucket()
        self.plain_asks = Bucket()
        self.bid_index: dict[str, Bucket] = {}
        self.ask_index: dict[str, Bucket] = {}
        self._dry_fill = 0
        self._dry_bought: set[str] = set()

    def home_buckets(self, order: Order) -> list[Bucket]:
        """The buckets an order rests in (created when missing)."""
        if order.is_buy:
            constraints = order.constraints
            if constraints is None:
                return [self.plain_bids]
            suffix = "|" + constraints.purpose
            return [_bucket(self.bid_index, dc + suffix) for dc in sorted(constraints.data_classes)]
        terms = order.terms
        if terms is None:
            return [self.plain_asks]
        prefix = terms.data_class + "|"
        return [_bucket(self.ask_index, prefix + p) for p in sorted(terms.allowed_purposes)]

    def opposite_buckets(self, order: Order) -> list[Bucket]:
        """The existing buckets holding every order this one may trade with."""
        found: list[Bucket] = []
        if order.is_buy:
            constraints = order.constraints
            if constraints is None:
                return [self.plain_asks]
            suffix = "|" + constraints.purpose
            for dc in constraints.data_classes:
                bucket = self.ask_index.get(dc + suffix)
                if bucket is not None and bucket.ranks:
                    found.append(bucket)
            return found
        terms = order.terms
        if terms is None:
            return [self.plain_bids]
        prefix = terms.data_class + "|"
        for purpose in terms.allowed_purposes:
            bucket = self.bid_index.get(prefix + purpose)
            if bucket is not None and bucket.ranks:
                found.append(bucket)
        return found

    def rest(self, order: Order) -> None:
        """Put a live order into its levels."""
        for bucket in self.home_buckets(order):
            level = bucket.level_for(order.price, order.rank)
            level.add(order)
            order.levels.append(level)

    def unrest(self, order: Order) -> None:
        """Take a live order out of its levels at once, keeping it in the id index."""
        for level in order.levels:
            level.remove(order)
            if level.live == 0:
                level.bucket.drop(level)
        order.levels = []

    def kill(self, order: Order) -> None:
        """Remove an order from the book (its level entries are skipped lazily)."""
        order.live = False
        for level in order.levels:
            level.live -= 1
            if level.live == 0:
                level.bucket.drop(level)
        order.levels = []
        del self.orders[order.id]

    def match(self, taker: Order, out: list[Event]) -> None:
        """Trade an incoming order against eligible resting orders, best first."""
        buckets = self.opposite_buckets(taker)
        if buckets:
            self._walk(taker, buckets, out, False)

    def fillable(self, taker: Order) -> int:
        """How many licences the order would get now, without trading (for fill-or-kill)."""
        self._dry_fill = 0
        self._dry_bought = set()
        buckets = self.opposite_buckets(taker)
        if buckets:
            self._walk(taker, buckets, [], True)
        return self._dry_fill

    def _walk(self, taker: Order, buckets: list[Bucket], out: list[Event], dry: bool) -> None:
        """Visit levels across buckets in rank order while they cross the taker's price."""
        below = MARKET_RANK + 1
        is_buy = taker.is_buy
        single = len(buckets) == 1
        while self._wants(taker, dry):
            found = False
            best = 0
            for bucket in buckets:
                ranks = bucket.ranks
                if not ranks:
                    continue
                rank = ranks[-1]
                if rank >= below:
                    index = bisect_left(ranks, below) - 1
                    if index < 0:
                        continue
                    rank = ranks[index]
                if not found or rank > best:
                    best = rank
                    found = True
            if not found:
                return
            below = best
            if single:
                level = buckets[0].levels[best]
                if not taker.is_market and (
                    level.price > taker.price if is_buy else level.price < taker.price
                ):
                    return
                self._take(taker, level.orders, level.head, out, dry)
                if not dry and level.live:
                    level.advance()
                continue
            group = [b.levels[best] for b in buckets if best in b.levels]
            price = group[0].price
            if not taker.is_market and (price > taker.price if is_buy else price < taker.price):
                return
            merged = sorted(
                [o for lv in group for o in lv.orders[lv.head :] if o.live], key=_seq_of
            )
            self._take(taker, merged, 0, out, dry)
            if not dry:
                for level in group:
                    if level.live:
                        level.advance()

    def _wants(self, taker: Order, dry: bool) -> bool:
        """Whether the taker still wants to trade."""
        if dry:
            return taker.qty > self._dry_fill
        return taker.unlimited or taker.qty > 0

    def _take(
        self, taker: Order, orders: list[Order], start: int, out: list[Event], dry: bool
    ) -> None:
        """Trade with the live, eligible orders of one level in time order."""
        end = len(orders)
        index = start
        while index < end and self._wants(taker, dry):
            maker = orders[index]
            index += 1
            if not maker.live:
                continue
            qty = self._pair_qty(taker, maker, dry)
            if qty == 0:
                continue
            if dry:
                self._dry_fill += qty
                if taker.bought is not None:
                    dataset = maker.dataset_id()
                    if dataset is not None:
                        self._dry_bought.add(dataset)
                continue
            self.trade(taker, maker, qty, maker.price, out)

    def _pair_qty(self, taker: Order, maker: Order, dry: bool) -> int:
        """Licences the taker may trade with this maker now (0: not eligible)."""
        if taker.participant == maker.participant:
            return 0
        want = taker.qty - self._dry_fill if dry else taker.remaining()
        if taker.is_buy:
            buy = taker
            sell = maker
        else:
            buy = maker
            sell = taker
        constraints = buy.constraints
        terms = sell.terms
        if constraints is None and terms is None:
            return min(want, maker.remaining())
        if not eligible(buy.participant, constraints, sell.participant, terms):
            return 0
        bought = buy.bought
        if bought is not None and terms is not None:
            # One licence per dataset: a bid for N licences wants N distinct datasets.
            if terms.dataset_id in bought:
                return 0
            if dry and terms.dataset_id in self._dry_bought:
                return 0
            return 1
        return min(want, maker.remaining())

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
        dataset = sell.dataset_id()
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
        self.last_price = price
        if buy.bought is not None and dataset is not None:
            buy.bought.add(dataset)
        if not taker.unlimited:
            taker.qty -= qty
        if not maker.unlimited:
            maker.qty -= qty
            if maker.qty == 0:
                self.kill(maker)


def _bucket(index: dict[str, Bucket], key: str) -> Bucket:
    """The bucket under `key`, created when missing."""
    bucket = index.get(key)
    if bucket is None:
        bucket = Bucket()
        index[key] = bucket
    return bucket


def _seq_of(order: Order) -> int:
    """Sort key: arrival sequence."""
    return order.seq
