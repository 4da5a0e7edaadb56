"""Contract: continuous trading, run against every build and every book."""

from types import ModuleType

from tests.unit.matching.conftest import INSTRUMENT, Venue


def test_orders_that_do_not_cross_rest(venue: Venue) -> None:
    venue.bid("b1", 99, 5)
    events = venue.ask("a1", 101, 5)
    assert venue.kinds(events) == ["accepted"]
    assert venue.resting() == {"b1": 5, "a1": 5}


def test_crossing_bid_trades_at_the_resting_ask_price(venue: Venue) -> None:
    venue.ask("a1", 100, 5)
    events = venue.bid("b1", 110, 5)
    assert venue.trades(events) == [("b1", "a1", 100, 5)]
    assert venue.resting() == {}


def test_asks_fill_lowest_price_first(venue: Venue) -> None:
    venue.ask("high", 105, 1)
    venue.ask("low", 100, 1)
    events = venue.bid("b1", 110, 2)
    assert venue.trades(events) == [("b1", "low", 100, 1), ("b1", "high", 105, 1)]


def test_equal_prices_fill_in_time_order(venue: Venue) -> None:
    venue.ask("first", 100, 1)
    venue.ask("second", 100, 1)
    events = venue.bid("b1", 100, 1)
    assert venue.trades(events) == [("b1", "first", 100, 1)]


def test_bids_fill_highest_price_first(venue: Venue) -> None:
    venue.bid("low", 90, 1)
    venue.bid("high", 95, 1)
    events = venue.ask("a1", 80, 2)
    assert venue.trades(events) == [("high", "a1", 95, 1), ("low", "a1", 90, 1)]


def test_partial_fill_leaves_the_remainder_resting(venue: Venue) -> None:
    venue.ask("a1", 100, 3)
    venue.bid("b1", 100, 5)
    assert venue.resting() == {"b1": 2}


def test_self_trade_is_skipped_and_the_next_order_fills(venue: Venue) -> None:
    venue.ask("mine", 100, 1, who="alice")
    venue.ask("theirs", 101, 1, who="bob")
    events = venue.bid("b1", 105, 2, who="alice")
    assert venue.trades(events) == [("b1", "theirs", 101, 1)]
    assert venue.resting() == {"b1": 1, "mine": 1}


def test_cancel_removes_the_order(venue: Venue) -> None:
    venue.ask("a1", 100, 4)
    events = venue.do(venue.api.Cancel("a1", INSTRUMENT))
    assert venue.kinds(events) == ["cancelled"]
    assert events[0].qty == 4
    assert venue.trades(venue.bid("b1", 100, 1)) == []


def test_cancelling_an_unknown_order_is_rejected(venue: Venue) -> None:
    venue.ask("a1", 100, 4)
    events = venue.do(venue.api.Cancel("nope", INSTRUMENT))
    assert venue.kinds(events) == ["rejected"]


def test_reduce_keeps_time_priority(venue: Venue) -> None:
    venue.ask("first", 100, 5)
    venue.ask("second", 100, 5)
    events = venue.do(venue.api.Reduce("first", INSTRUMENT, 3))
    assert (events[0].qty, events[0].remaining) == (3, 2)
    assert venue.trades(venue.bid("b1", 100, 1)) == [("b1", "first", 100, 1)]


def test_reducing_by_the_whole_size_removes_the_order(venue: Venue) -> None:
    venue.ask("a1", 100, 2)
    events = venue.do(venue.api.Reduce("a1", INSTRUMENT, 5))
    assert (events[0].qty, events[0].remaining) == (2, 0)
    assert venue.resting() == {}


def test_amending_size_down_keeps_time_priority(venue: Venue) -> None:
    venue.ask("first", 100, 5)
    venue.ask("second", 100, 5)
    venue.do(venue.api.Amend("first", INSTRUMENT, qty=2))
    assert venue.trades(venue.bid("b1", 100, 1)) == [("b1", "first", 100, 1)]


def test_amending_size_up_loses_time_priority(venue: Venue) -> None:
    venue.ask("first", 100, 5)
    venue.ask("second", 100, 5)
    venue.do(venue.api.Amend("first", INSTRUMENT, qty=8))
    assert venue.trades(venue.bid("b1", 100, 1)) == [("b1", "second", 100, 1)]


def test_amending_price_loses_time_priority(venue: Venue) -> None:
    venue.ask("first", 101, 5)
    venue.ask("second", 100, 5)
    venue.do(venue.api.Amend("first", INSTRUMENT, price=100))
    assert venue.trades(venue.bid("b1", 100, 1)) == [("b1", "second", 100, 1)]


def test_amending_to_a_crossing_price_trades_at_the_resting_price(venue: Venue) -> None:
    venue.ask("a1", 100, 2)
    venue.bid("b1", 95, 2)
    events = venue.do(venue.api.Amend("b1", INSTRUMENT, price=102))
    assert venue.kinds(events) == ["amended", "trade"]
    assert venue.trades(events) == [("b1", "a1", 100, 2)]


def test_ioc_remainder_is_cancelled(venue: Venue) -> None:
    venue.ask("a1", 100, 2)
    events = venue.bid("b1", 100, 5, tif="IOC")
    assert venue.kinds(events) == ["accepted", "trade", "cancelled"]
    assert events[-1].qty == 3
    assert venue.resting() == {}


def test_fok_that_cannot_fill_in_full_does_not_trade(venue: Venue) -> None:
    venue.ask("a1", 100, 2)
    events = venue.bid("b1", 100, 3, tif="FOK")
    assert venue.kinds(events) == ["accepted", "cancelled"]
    assert venue.resting() == {"a1": 2}


def test_fok_that_can_fill_in_full_trades(venue: Venue) -> None:
    venue.ask("a1", 100, 2)
    venue.ask("a2", 101, 2)
    events = venue.bid("b1", 101, 3, tif="FOK")
    assert venue.trades(events) == [("b1", "a1", 100, 2), ("b1", "a2", 101, 1)]


def test_gtd_order_expires_when_the_clock_reaches_its_time(venue: Venue) -> None:
    api = venue.api
    venue.bid("b1", 100, 1, tif="GTD", expires_at=5_000)
    assert venue.kinds(venue.do(api.Clock(4_999))) == []
    events = venue.do(api.Clock(5_000))
    assert venue.kinds(events) == ["expired"]
    assert venue.resting() == {}


def test_cancelled_gtd_orders_do_not_pile_up_awaiting_expiry(api: ModuleType) -> None:
    engine = api.Engine()
    for n in range(3_000):
        order = api.Limit(
            f"g{n}", INSTRUMENT, "p", api.Side.BUY, 100, 1, api.TimeInForce.GTD, 10**9
        )
        engine.apply(order)
        engine.apply(api.Cancel(f"g{n}", INSTRUMENT))
    engine.apply(
        api.Limit("kept", INSTRUMENT, "p", api.Side.BUY, 100, 1, api.TimeInForce.GTD, 10**9)
    )
    assert len(engine._expiries) < 1_100
    events = engine.apply(api.Clock(10**9))
    assert [(type(e).__name__, e.id) for e in events] == [("Expired", "kept")]


def test_gtd_order_already_expired_is_rejected(venue: Venue) -> None:
    venue.do(venue.api.Clock(10_000))
    assert venue.kinds(venue.bid("b1", 100, 1, tif="GTD", expires_at=9_000)) == ["rejected"]


def test_clock_cannot_move_backwards(venue: Venue) -> None:
    venue.do(venue.api.Clock(10))
    assert venue.kinds(venue.do(venue.api.Clock(9))) == ["rejected"]


def test_market_order_sweeps_and_cancels_its_remainder(venue: Venue) -> None:
    api = venue.api
    venue.ask("a1", 100, 1)
    venue.ask("a2", 150, 1)
    events = venue.do(api.Market("m1", INSTRUMENT, "buyer", api.Side.BUY, 3))
    assert venue.trades(events) == [("m1", "a1", 100, 1), ("m1", "a2", 150, 1)]
    assert venue.kinds(events)[-1] == "cancelled"


def test_duplicate_live_order_id_is_rejected(venue: Venue) -> None:
    venue.ask("a1", 100, 1)
    assert venue.kinds(venue.ask("a1", 101, 1)) == ["rejected"]


def test_only_asks_may_be_unlimited(venue: Venue) -> None:
    assert venue.kinds(venue.bid("b1", 100, None)) == ["rejected"]  # type: ignore[arg-type]


def test_bad_prices_and_sizes_are_rejected(venue: Venue) -> None:
    assert venue.kinds(venue.bid("b1", 0, 1)) == ["rejected"]
    assert venue.kinds(venue.bid("b2", 100, 0)) == ["rejected"]


def test_unlimited_ask_never_depletes(venue: Venue) -> None:
    venue.ask("a1", 100, None)
    venue.bid("b1", 100, 50)
    venue.bid("b2", 100, 70)
    assert venue.resting() == {"a1": None}


def test_books_are_separate_per_instrument(venue: Venue) -> None:
    venue.do(venue.limit("a1", "sell", 100, 1, instrument="mobility.probe/non_personal"))
    assert venue.trades(venue.bid("b1", 100, 1)) == []


def test_same_commands_give_the_same_events_and_state_hash(venue: Venue) -> None:
    commands = [
        venue.limit(f"o{i}", "buy" if i % 3 else "sell", 100 + i % 7, 1 + i % 4) for i in range(60)
    ]
    first = Venue(venue.api)
    second = Venue(venue.api)
    events = [first.do(c) for c in commands]
    assert events == [second.do(c) for c in commands]
    assert first.engine.state_hash() == second.engine.state_hash()
