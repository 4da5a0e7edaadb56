"""Internal consistency checks of the fast book (exchange-core's validateInternalState)."""

from itertools import pairwise

from .bookbase import CorruptBook
from .core import MatchingCore
from .orders import Bucket, Ladder, Level, Order
from .types import TimeInForce


def check_fast_book(book: MatchingCore) -> None:
    """Raise CorruptBook unless every index agrees with the live orders."""
    buckets: list[Bucket] = [book.plain_bids, book.plain_asks]
    for by_classes in book.bid_by_purpose.values():
        buckets.extend(bucket for bucket in by_classes if bucket is not None)
    for ladder in book.ask_ladders:
        if ladder is not None:
            _check_ladder(ladder)
            buckets.extend(ladder.rungs)
    _require(book.bid_ceiling >= book.constrained_bid_top(), "constrained bid ceiling too low")
    seen: set[str] = set()
    for bucket in buckets:
        _check_bucket(book, bucket, seen)
    for order_id, order in book.orders.items():
        _check_order(book, order_id, order, order_id in seen)


def _check_ladder(ladder: Ladder) -> None:
    """Keys strictly ascending, one non-empty rung per key, each rung at its own price."""
    keys = ladder.keys
    _require(keys == sorted(set(keys)), "ladder keys not strictly ascending")
    _require(len(keys) == len(ladder.rungs), "ladder keys and rungs disagree")
    for key, rung in zip(keys, ladder.rungs, strict=True):
        _require(rung.ladder is ladder and rung.key == key, "rung filed in the wrong ladder")
        _require(bool(rung.line), "empty rung left in the ladder")
        _require(all(level.price == -key for level in rung.line), "rung holds another price")


def _check_bucket(book: MatchingCore, bucket: Bucket, seen: set[str]) -> None:
    """Ranks sorted and matching levels, the best level cached; every level's list sound."""
    ranks = bucket.ranks
    _require(ranks == sorted(set(ranks)), "ranks not strictly ascending")
    _require([level.rank for level in bucket.line] == ranks, "line and ranks disagree")
    _require(bucket.best is (bucket.line[-1] if ranks else None), "best level not cached")
    for level in bucket.line:
        _require(level.bucket is bucket, "level filed in the wrong bucket")
        _check_level(book, level, seen)


def _check_level(book: MatchingCore, level: Level, seen: set[str]) -> None:
    """Links agree both ways, the count is right, times ascend, members are indexed."""
    members = level.members()
    _require(len(members) == level.count > 0, "level count wrong")
    _require(level.tail is members[-1] and members[0].prev is None, "level ends wrong")
    for before, after in pairwise(members):
        _require(after.prev is before, "level links disagree")
        _require(before.seq < after.seq, "level not in time order")
    for order in members:
        _require(book.orders.get(order.id) is order, f"{order.id} in a level, not in the index")
        _require(order.live and order.level is level, f"{order.id} lost its level")
        _require(order.rank == level.rank and order.price == level.price, f"{order.id} misfiled")
        _require(order.id not in seen, f"{order.id} rests twice")
        seen.add(order.id)


def _check_order(book: MatchingCore, order_id: str, order: Order, rests: bool) -> None:
    """One indexed order: alive, sized, in its home bucket, prefilter bits current."""
    _require(order.id == order_id and order.live, f"{order_id} indexed but not live")
    _require(order.unlimited or order.qty > 0, f"{order_id} rests with nothing left")
    _require(order.seq <= book.seq, f"{order_id} has a sequence from the future")
    bits = (order.class_bits, order.purpose_bits, order.min_quality, order.simple)
    _require(bits == book.prefilter(order), f"{order_id}: stale prefilter bits")
    if order.is_market:
        _require(not book.continuous, f"{order_id}: market order resting in continuous mode")
        _require(not rests and order.level is None, f"{order_id}: market order in a level")
        return
    _require(order.tif in (TimeInForce.GTC, TimeInForce.GTD), f"{order_id}: immediate order rests")
    level = order.level
    _require(rests and level is not None, f"{order_id} indexed but in no level")
    assert level is not None
    _require(level.bucket is book.home_bucket(order), f"{order_id} in a foreign bucket")


def _require(condition: bool, message: str) -> None:
    """Raise CorruptBook with `message` unless `condition` holds."""
    if not condition:
        raise CorruptBook(message)
