"""Invariants over random command streams (hypothesis)."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import matching.exports as api
from matching.reference import ReferenceBook
from matching.terms import eligible
from tests.unit.matching.conftest import INSTRUMENT, Venue

FACTORY = Venue(api)
PURPOSES = ["research.medical", "ai.training"]

constraints = st.none() | st.builds(
    lambda purpose, classes, quality, k, dataset: api.BidConstraints(
        purpose, frozenset(classes), quality, k, dataset_id=dataset
    ),
    st.sampled_from(PURPOSES),
    st.sets(st.sampled_from(["personal", "anonymized", "non_personal"]), min_size=1),
    st.integers(0, 100),
    st.none() | st.integers(1, 10),
    st.none() | st.sampled_from(["d0", "d1"]),
)
terms = st.none() | st.builds(
    lambda dataset, data_class, quality, k, purposes: api.AskTerms(
        dataset,
        data_class,
        quality,
        k if data_class == "anonymized" else None,
        allowed_purposes=frozenset(purposes),
    ),
    st.sampled_from(["d0", "d1", "d2"]),
    st.sampled_from(["personal", "anonymized", "non_personal"]),
    st.integers(0, 100),
    st.none() | st.integers(1, 10),
    st.sets(st.sampled_from(PURPOSES), min_size=1),
)


@st.composite
def command(draw: Any) -> Any:
    """Any command on a small id space, so cancels and amends often hit live orders."""
    order_id = f"o{draw(st.integers(0, 12))}"
    kind = draw(
        st.sampled_from(
            [
                "bid",
                "ask",
                "ask",
                "bid",
                "cancel",
                "amend",
                "reduce",
                "update",
                "market",
                "clock",
                "auction",
                "mode",
            ]
        )
    )
    who = f"p{draw(st.integers(0, 3))}"
    price = draw(st.integers(95, 105))
    if kind in ("bid", "ask"):
        is_buy = kind == "bid"
        qty = draw(st.integers(1, 4) if is_buy else st.none() | st.integers(1, 4))
        tif = draw(st.sampled_from(list(api.TimeInForce)))
        expires = draw(st.integers(1, 50)) if tif is api.TimeInForce.GTD else None
        side = api.Side.BUY if is_buy else api.Side.SELL
        return api.Limit(
            order_id,
            INSTRUMENT,
            who,
            side,
            price,
            qty,
            tif,
            expires,
            draw(constraints) if is_buy else None,
            None if is_buy else draw(terms),
        )
    if kind == "cancel":
        return api.Cancel(order_id, INSTRUMENT)
    if kind == "amend":
        return api.Amend(
            order_id,
            INSTRUMENT,
            draw(st.none() | st.just(price)),
            draw(st.none() | st.integers(1, 5)),
        )
    if kind == "reduce":
        return api.Reduce(order_id, INSTRUMENT, draw(st.integers(1, 3)))
    if kind == "update":
        if draw(st.booleans()):
            return api.Update(order_id, INSTRUMENT, api.Side.BUY, constraints=draw(constraints))
        return api.Update(order_id, INSTRUMENT, api.Side.SELL, terms=draw(terms))
    if kind == "market":
        return api.Market(
            order_id,
            INSTRUMENT,
            who,
            draw(st.sampled_from(list(api.Side))),
            draw(st.integers(1, 4)),
        )
    if kind == "clock":
        return api.Clock(draw(st.integers(0, 60)))
    if kind == "auction":
        return api.RunAuction(INSTRUMENT, draw(st.none() | st.just(100)))
    return api.SetMode(INSTRUMENT, draw(st.sampled_from(list(api.Mode))))


streams = st.lists(command(), max_size=60)


def run(commands: list, factory: Any = None) -> tuple[Venue, list]:
    """Apply a stream, checking internal state after each command."""
    venue = Venue(api, factory)
    events = venue.do(*commands)
    return venue, events


@settings(max_examples=150, deadline=None)
@given(streams)
def test_fast_and_reference_books_agree(commands: list) -> None:
    fast, fast_events = run(commands)
    reference, reference_events = run(commands, ReferenceBook)
    assert fast_events == reference_events
    assert fast.engine.state_hash() == reference.engine.state_hash()


@settings(max_examples=150, deadline=None)
@given(streams)
def test_no_trade_breaks_a_constraint_or_a_limit_price(commands: list) -> None:
    orders: dict[str, Any] = {}
    venue = Venue(api)
    for cmd in commands:
        before = {
            o.id: (o.price, o.is_market, o.constraints, o.terms, o.participant)
            for book in venue.engine.books.values()
            for o in book.live_orders()
        }
        if isinstance(cmd, api.Limit | api.Market):
            orders[cmd.id] = cmd
        if isinstance(cmd, api.Amend | api.Update) and cmd.id in before:
            # An amended or updated order trades (if at all) with its new attributes.
            before[cmd.id] = _changed(before[cmd.id], cmd)
        for event in venue.do(cmd):
            if not isinstance(event, api.TradeExecuted):
                continue
            buy = before.get(event.buy_id) or _incoming(cmd, event.buy_id)
            sell = before.get(event.sell_id) or _incoming(cmd, event.sell_id)
            assert buy[4] != sell[4]
            assert eligible(buy[4], buy[2], sell[4], sell[3])
            assert buy[1] or event.price <= buy[0]
            assert sell[1] or event.price >= sell[0]


def _changed(attributes: tuple, cmd: Any) -> tuple:
    """Attributes of a resting order once an amend or update command has changed them."""
    price, is_market, constraints, terms, participant = attributes
    if isinstance(cmd, api.Amend):
        return (
            price if cmd.price is None else cmd.price,
            is_market,
            constraints,
            terms,
            participant,
        )
    return (price, is_market, cmd.constraints, cmd.terms, participant)


def _incoming(cmd: Any, order_id: str) -> tuple:
    """Attributes of the order a command brings in."""
    assert cmd.id == order_id
    is_limit = isinstance(cmd, api.Limit)
    return (cmd.price if is_limit else 0, not is_limit, cmd.constraints, cmd.terms, cmd.participant)


@settings(max_examples=150, deadline=None)
@given(st.lists(command().filter(lambda c: not isinstance(c, api.Amend)), max_size=60))
def test_quantities_are_conserved(commands: list) -> None:
    venue = Venue(api)
    placed: dict[str, list[int]] = {}
    events: list = []
    for cmd in commands:
        own = venue.do(cmd)
        events.extend(own)
        accepted = any(isinstance(e, api.Accepted) and e.id == cmd.id for e in own)
        if accepted and isinstance(cmd, api.Limit | api.Market) and cmd.qty is not None:
            placed.setdefault(cmd.id, []).append(cmd.qty)
    settled: dict[str, int] = {}
    for event in events:
        if isinstance(event, api.TradeExecuted):
            for order_id in (event.buy_id, event.sell_id):
                settled[order_id] = settled.get(order_id, 0) + event.qty
        elif isinstance(event, api.Cancelled | api.Expired | api.Reduced) and event.qty is not None:
            settled[event.id] = settled.get(event.id, 0) + event.qty
    for order_id, qty in venue.resting().items():
        if qty is not None:
            settled[order_id] = settled.get(order_id, 0) + qty
    unlimited = {c.id for c in commands if isinstance(c, api.Limit | api.Market) and c.qty is None}
    for order_id, sizes in placed.items():
        if order_id not in unlimited:
            assert settled.get(order_id, 0) == sum(sizes)


@settings(max_examples=100, deadline=None)
@given(streams)
def test_replaying_the_journal_gives_the_same_state_hash(commands: list) -> None:
    venue, events = run(commands)
    lines = [json.dumps(api.command_to_dict(c)) for c in commands]
    engine, replayed = api.replay(api.parse_journal(lines))
    assert engine.state_hash() == venue.engine.state_hash()
    assert replayed == events
