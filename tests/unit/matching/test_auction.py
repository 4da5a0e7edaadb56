"""Contract: call auctions (itayose) and switching trading modes."""

import copy
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.matching.conftest import INSTRUMENT, Venue


def periodic(venue: Venue, interval_ms: int | None = None) -> None:
    """Put the instrument into periodic (auction-only) mode."""
    venue.do(venue.api.SetMode(INSTRUMENT, venue.api.Mode.PERIODIC, interval_ms))


def auction(venue: Venue, reference: int | None = None) -> list:
    """Run an auction now."""
    return venue.do(venue.api.RunAuction(INSTRUMENT, reference))


def test_periodic_mode_collects_orders_without_trading(venue: Venue) -> None:
    periodic(venue)
    venue.ask("a1", 90, 5)
    assert venue.trades(venue.bid("b1", 110, 5)) == []
    assert venue.resting() == {"b1": 5, "a1": 5}


def test_auction_price_moves_towards_excess_demand(venue: Venue) -> None:
    # Bids above 100 cannot all fill at 100, so JPX condition (2) pushes the price to 105.
    periodic(venue)
    venue.bid("b1", 105, 5)
    venue.ask("a1", 100, 3)
    events = auction(venue)
    result = events[0]
    assert (result.price, result.volume) == (105, 3)
    assert venue.trades(events) == [("b1", "a1", 105, 3)]


def test_auction_fills_market_orders_first(venue: Venue) -> None:
    api = venue.api
    periodic(venue)
    venue.do(api.Market("m1", INSTRUMENT, "mkt", api.Side.BUY, 2))
    venue.bid("b1", 120, 2)
    venue.ask("a1", 100, 3)
    events = auction(venue)
    assert events[0].price == 120
    assert venue.trades(events) == [("m1", "a1", 120, 2), ("b1", "a1", 120, 1)]


def test_unfilled_market_orders_are_cancelled_after_the_auction(venue: Venue) -> None:
    api = venue.api
    periodic(venue)
    venue.do(api.Market("m1", INSTRUMENT, "mkt", api.Side.BUY, 2))
    events = auction(venue, reference=100)
    assert venue.kinds(events) == ["auction", "cancelled"]


def test_auction_takes_the_price_nearest_the_reference_among_equals(venue: Venue) -> None:
    periodic(venue)
    venue.bid("b1", 130, 2)
    venue.ask("a1", 100, 2)
    assert auction(venue, reference=118)[0].price == 118


def test_auction_volume_counts_only_eligible_pairs(venue: Venue) -> None:
    periodic(venue)
    venue.ask("ads", 100, 5, allowed_purposes={"marketing.advertising"})
    venue.ask("med", 105, 5, quality=50)
    venue.bid("b1", 110, 3, dataset_id="ds-med")
    events = auction(venue)
    # The ineligible cheaper ask does not count as supply; excess supply at 110 pulls the price to 105.
    assert (events[0].price, events[0].volume) == (105, 3)
    assert venue.trades(events) == [("b1", "med", 105, 3)]


def test_auction_gives_a_distinct_datasets_bid_one_licence_per_dataset(venue: Venue) -> None:
    periodic(venue)
    venue.ask("d1", 100, 5, dataset_id="d1")
    venue.ask("d2", 100, 5, dataset_id="d2")
    venue.bid("b1", 100, 5, min_quality=0)
    events = auction(venue)
    assert events[0].volume == 2
    assert venue.resting()["b1"] == 3


def test_scheduled_auction_runs_when_the_clock_reaches_it(venue: Venue) -> None:
    periodic(venue, interval_ms=1_000)
    venue.bid("b1", 100, 1)
    venue.ask("a1", 100, 1)
    assert venue.kinds(venue.do(venue.api.Clock(999))) == []
    events = venue.do(venue.api.Clock(1_000))
    assert venue.kinds(events) == ["auction", "trade"]


def test_switching_to_continuous_opens_with_an_auction(venue: Venue) -> None:
    api = venue.api
    periodic(venue)
    venue.bid("b1", 100, 2)
    venue.ask("a1", 95, 1)
    events = venue.do(api.SetMode(INSTRUMENT, api.Mode.CONTINUOUS))
    assert venue.kinds(events) == ["auction", "trade", "mode"]
    assert venue.trades(venue.ask("a2", 100, 1)) == [("b1", "a2", 100, 1)]


def test_immediate_orders_are_refused_in_periodic_mode(venue: Venue) -> None:
    periodic(venue)
    assert venue.kinds(venue.bid("b1", 100, 1, tif="IOC")) == ["rejected"]


# Brute force over every allocation on tiny books, to check the flow-based auction.

ORDER = st.tuples(st.integers(98, 102), st.integers(1, 3), st.integers(0, 2))


@settings(max_examples=60, deadline=None)
@given(
    bids=st.lists(ORDER, min_size=1, max_size=3),
    asks=st.lists(ORDER, min_size=1, max_size=3),
    constrained=st.booleans(),
)
def test_auction_volume_is_the_largest_allocation(
    bids: list, asks: list, constrained: bool
) -> None:
    import matching.exports as api

    venue = Venue(api)
    periodic(venue)
    for n, (price, qty, kind) in enumerate(bids):
        extra = {"min_quality": 50 * kind, "data_classes": {"anonymized"}} if constrained else {}
        venue.bid(f"b{n}", price, qty, **extra)
    for n, (price, qty, kind) in enumerate(asks):
        extra = {"quality": 40 * kind, "dataset_id": f"d{n % 2}"} if constrained else {}
        venue.ask(f"a{n}", price, qty, **extra)
    book = venue.engine.books[INSTRUMENT]
    orders = [copy.copy(o) for o in book.live_orders()]
    for order in orders:
        order.bought = None if order.bought is None else set(order.bought)
    result = auction(venue)[0]
    best = {p: _brute_volume(orders, p) for p in range(97, 104)}
    if result.price is None:
        assert max(best.values()) == 0
        return
    assert result.volume == best[result.price]
    if not constrained:
        assert result.volume == max(best.values())


def _brute_volume(orders: list, price: int) -> int:
    """Largest number of licences tradable at `price` over every allocation (exhaustive)."""
    from matching.terms import eligible

    bids = [o for o in orders if o.is_buy and o.price >= price]
    asks = [o for o in orders if not o.is_buy and o.price <= price]
    pairs = [
        (b, a)
        for b in bids
        for a in asks
        if eligible(b.participant, b.constraints, a.participant, a.terms)
    ]
    best = 0
    ranges = [range(0, min(b.qty, a.qty) + 1) for b, a in pairs]
    for amounts in itertools.product(*ranges):
        if _feasible(pairs, amounts):
            best = max(best, sum(amounts))
    return best


def _feasible(pairs: list, amounts: tuple) -> bool:
    """Whether an allocation respects sizes and one-licence-per-dataset."""
    used: dict[int, int] = {}
    per_dataset: dict[tuple[int, str], int] = {}
    for (bid, ask), amount in zip(pairs, amounts, strict=True):
        used[id(bid)] = used.get(id(bid), 0) + amount
        used[id(ask)] = used.get(id(ask), 0) + amount
        if bid.bought is not None and ask.terms is not None and amount:
            key = (id(bid), ask.terms.dataset_id)
            per_dataset[key] = per_dataset.get(key, 0) + amount
    sizes = {id(o): o.qty for pair in pairs for o in pair}
    return all(used[k] <= sizes[k] for k in used) and all(v <= 1 for v in per_dataset.values())
