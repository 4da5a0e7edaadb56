"""Engine snapshots as plain JSON data: live orders and counters out, a rebuilt engine back.

A snapshot holds everything that decides future events: the clock, the trade counter and, per
book, mode, schedule, last price, arrival counter and every live order with its arrival number.
Indexes (levels, buckets, the expiry queue) are rebuilt from the orders, so a snapshot is the
same whichever book wrote it. Restoring one and applying the commands that followed gives the
same events and state hash as replaying every command from the start.
"""

from typing import Any, Final

from .fields import FieldReader, constraints_to_dict, terms_to_dict
from .orders import Order, rank_of
from .terms import AskTerms, BidConstraints
from .types import TimeInForce

SNAPSHOT_FORMAT: Final = 1
_TIME_IN_FORCE: Final = {tif.value: tif for tif in TimeInForce}


def order_record(order: Order) -> list[Any]:
    """A live order as a JSON array (see `order_from_record`)."""
    return record_of_capture(order_capture(order))


def order_capture(order: Order) -> list[Any]:
    """What of a live order must be read while nothing trades: `order_record` with its
    constraints or terms left as the object they are. Those objects are immutable, so
    `record_of_capture` may turn them into JSON later, while the engine goes on."""
    attributes: BidConstraints | AskTerms | None = order.constraints
    if attributes is None:
        attributes = order.terms
    bought = order.bought
    return [
        order.id,
        order.participant,
        order.is_buy,
        order.is_market,
        order.price,
        None if order.unlimited else order.qty,
        order.seq,
        order.tif.value,
        order.expires_at,
        None if bought is None else sorted(bought),
        attributes,
    ]


def capture_key(captured: list[Any]) -> tuple[int, int, int]:
    """`orders.canonical_key` of an order captured by `order_capture`, from what was captured."""
    attributes = captured[10]
    quality = attributes.quality if isinstance(attributes, AskTerms) else 0
    is_buy: bool = captured[2]
    return (0 if is_buy else 1, -rank_of(is_buy, captured[3], captured[4], quality), captured[6])


def record_of_capture(captured: list[Any]) -> list[Any]:
    """The JSON array of an order captured by `order_capture` (the capture is reused)."""
    attributes = captured[10]
    if isinstance(attributes, BidConstraints):
        captured[10] = constraints_to_dict(attributes)
    elif isinstance(attributes, AskTerms):
        captured[10] = terms_to_dict(attributes)
    return captured


def order_from_record(record: list[Any]) -> Order:
    """Rebuild a live order from its JSON array; raise ValueError when it is malformed."""
    if not isinstance(record, list) or len(record) != 11:
        raise ValueError("a snapshot order is an array of 11 fields")
    ident, participant, is_buy, is_market, price, qty, seq, tif, expires_at, bought, attrs = record
    constraints: BidConstraints | None = None
    terms: AskTerms | None = None
    if attrs is not None:
        reader = FieldReader(attrs)
        if is_buy:
            constraints = reader.constraints()
        else:
            terms = reader.terms()
        reader.finish()
    order = Order(
        str(ident),
        str(participant),
        bool(is_buy),
        int(price),
        0 if qty is None else int(qty),
        qty is None,
        int(seq),
        _TIME_IN_FORCE[tif],
        None if expires_at is None else int(expires_at),
        bool(is_market),
        constraints,
        terms,
    )
    if bought is not None:
        order.bought = {str(dataset) for dataset in bought}
    elif order.bought is not None:
        order.bought = None
    return order


def restore_key(order: Order) -> tuple[bool, int, int]:
    """Order in which a book takes restored orders back: each level and line grows at its end.

    Ranks ascend (the best is last in every bucket) and, within a rank, arrival numbers ascend
    (the newest is last in every level), so no restored order shifts another.
    """
    return (
        order.is_buy,
        rank_of(order.is_buy, order.is_market, order.price, order.quality),
        order.seq,
    )
