"""The replay format's documented fields: an owner on commands that touch a live order, `tif` on
market orders, and format 1 journals that keep replaying."""

from types import ModuleType

import pytest

from tests.unit.matching.conftest import INSTRUMENT, Venue

# Line 5 of a journal written to the documented format: a cancel naming its owner.
DOCUMENTED = [
    {"op": "limit", "id": "a1", "instrument": INSTRUMENT, "participant": "seller-1",
     "side": "sell", "price": 100, "qty": 5, "tif": "GTC", "expires_at": None},
    {"op": "market", "id": "m1", "instrument": INSTRUMENT, "participant": "buyer-1",
     "side": "buy", "qty": 1, "tif": "IOC"},
    {"op": "reduce", "id": "a1", "instrument": INSTRUMENT, "participant": "seller-1", "qty": 1},
    {"op": "amend", "id": "a1", "instrument": INSTRUMENT, "participant": "seller-1",
     "price": 101, "qty": None},
    {"op": "cancel", "id": "a1", "instrument": INSTRUMENT, "participant": "seller-1"},
]  # fmt: skip


def test_codec_accepts_the_documented_fields(api: ModuleType) -> None:
    commands = [api.command_from_dict(line) for line in DOCUMENTED]
    assert [api.command_from_dict(api.command_to_dict(c)) for c in commands] == commands
    assert commands[4].participant == "seller-1"
    assert commands[1].tif is api.TimeInForce.IOC
    engine = api.Engine()
    kinds = [api.event_to_dict(e)["type"] for e in engine.apply_many(commands)]
    assert kinds == ["accepted", "accepted", "trade", "reduced", "amended", "cancelled"]


def test_format_1_refuses_what_it_always_refused(api: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown field"):
        api.command_from_dict(DOCUMENTED[4], 1)
    with pytest.raises(ValueError, match="unknown field"):
        api.command_from_dict(DOCUMENTED[1], 1)
    with pytest.raises(ValueError, match="format"):
        api.command_from_dict(DOCUMENTED[4], 99)


def test_format_1_commands_read_the_same_in_format_2(api: ModuleType) -> None:
    old = {"op": "cancel", "id": "a1", "instrument": INSTRUMENT}
    assert api.command_from_dict(old, 1) == api.command_from_dict(old)
    assert api.command_to_dict(api.command_from_dict(old)) == old
    market = {"op": "market", "id": "m", "instrument": INSTRUMENT, "participant": "p",
              "side": "buy", "qty": 1}  # fmt: skip
    assert api.command_to_dict(api.command_from_dict(market, 1)) == market


@pytest.mark.parametrize("kind", ["cancel", "reduce", "amend", "update"])
def test_only_the_owner_may_touch_an_order(venue: Venue, kind: str) -> None:
    api = venue.api
    venue.ask("a1", 100, 5, who="seller-1", quality=50)
    by = {
        "cancel": lambda who: api.Cancel("a1", INSTRUMENT, who),
        "reduce": lambda who: api.Reduce("a1", INSTRUMENT, 1, who),
        "amend": lambda who: api.Amend("a1", INSTRUMENT, 101, None, who),
        "update": lambda who: api.Update(
            "a1", INSTRUMENT, api.Side.SELL, None, venue.terms("a1", quality=60), who
        ),
    }[kind]
    refused = venue.do(by("seller-2"))
    assert [(type(e).__name__, e.reason) for e in refused] == [
        ("Rejected", "the order belongs to another participant")
    ]
    assert venue.resting() == {"a1": 5}
    assert venue.kinds(venue.do(by("seller-1"))) != ["rejected"]


def test_a_fill_or_kill_market_order_fills_whole_or_not_at_all(venue: Venue) -> None:
    api = venue.api
    venue.ask("a1", 100, 2)
    killed = venue.do(
        api.Market("m1", INSTRUMENT, "buyer", api.Side.BUY, 3, tif=api.TimeInForce.FOK)
    )
    assert venue.kinds(killed) == ["accepted", "cancelled"]
    assert venue.resting() == {"a1": 2}
    filled = venue.do(
        api.Market("m2", INSTRUMENT, "buyer", api.Side.BUY, 2, tif=api.TimeInForce.FOK)
    )
    assert venue.trades(filled) == [("m2", "a1", 100, 2)]


def test_a_market_order_is_ioc_or_fok(venue: Venue) -> None:
    api = venue.api
    for tif, reason in (
        (api.TimeInForce.GTC, "a market order is IOC or FOK"),
        (api.TimeInForce.GTD, "a market order is IOC or FOK"),
    ):
        events = venue.do(api.Market("m", INSTRUMENT, "buyer", api.Side.BUY, 1, tif=tif))
        assert [e.reason for e in events] == [reason]
    venue.do(api.SetMode(INSTRUMENT, api.Mode.PERIODIC))
    events = venue.do(api.Market("m", INSTRUMENT, "b", api.Side.BUY, 1, tif=api.TimeInForce.FOK))
    assert [e.reason for e in events] == [
        "fill-or-kill is refused while the instrument trades by auction"
    ]
