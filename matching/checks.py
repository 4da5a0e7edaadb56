"""Internal consistency checks of the fast book (exchange-core's validateInternalState)."""

from .bookbase import CorruptBook
from .core import MatchingCore
from .orders import Bucket, Order
from .types import TimeInForce


def check_fast_book(book: MatchingCore) -> None:
    """Raise CorruptBook unless every index agrees with the live orders."""
    buckets: list[Bucket] = [book.plain_bids, book.plain_asks]
    buckets.extend(book.bid_index.values())
    buckets.extend(book.ask_index.values())
    seen: dict[str, int] = {}
    for bucket in buckets:
        _check_bucket(book, bucket, seen)
    for order_id, order in book.orders.items():
        _check_order(book, order_id, order, seen.get(order_id, 0))


def _check_bucket(book: MatchingCore, bucket: Bucket, seen: dict[str, int]) -> None:
    """Ranks sorted and matching levels; each level's live count and time order right."""
    ranks = bucket.ranks
    _require(ranks == sorted(set(ranks)), "ranks not strictly ascending")
    _require(set(ranks) == set(bucket.levels), "ranks and levels disagree")
    for rank, level in bucket.levels.items():
        _require(level.rank == rank and level.bucket is bucket, "level filed under the wrong key")
        _require(all(not o.live for o in level.orders[: level.head]), "live order behind head")
        live = [o for o in level.orders[level.head :] if o.live]
        _require(len(live) == level.live and level.live > 0, "level live count wrong")
        seqs = [o.seq for o in level.orders]
        _require(seqs == sorted(set(seqs)), "level not in time order")
        for order in live:
            _require(book.orders.get(order.id) is order, f"{order.id} in a level, not in the index")
            _require(order.rank == rank and order.price == level.price, f"{order.id} misfiled")
            _require(any(lv is level for lv in order.levels), f"{order.id} lost its level")
            seen[order.id] = seen.get(order.id, 0) + 1


def _check_order(book: MatchingCore, order_id: str, order: Order, entries: int) -> None:
    """One indexed order: alive, sized, in exactly its home buckets."""
    _require(order.id == order_id and order.live, f"{order_id} indexed but not live")
    _require(order.unlimited or order.qty > 0, f"{order_id} rests with nothing left")
    _require(order.seq <= book.seq, f"{order_id} has a sequence from the future")
    if order.is_market:
        _require(not book.continuous, f"{order_id}: market order resting in continuous mode")
        _require(entries == 0 and not order.levels, f"{order_id}: market order in a level")
        return
    _require(order.tif in (TimeInForce.GTC, TimeInForce.GTD), f"{order_id}: immediate order rests")
    homes = book.home_buckets(order)
    _require(
        entries == len(homes) == len(order.levels), f"{order_id} in the wrong number of levels"
    )
    filed = {id(level.bucket) for level in order.levels}
    _require(filed == {id(home) for home in homes}, f"{order_id} in a foreign bucket")


def _require(condition: bool, message: str) -> None:
    """Raise CorruptBook with `message` unless `condition` holds."""
    if not condition:
        raise CorruptBook(message)
