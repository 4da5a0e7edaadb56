"""The JSON Lines format: exact round trips and clear errors."""

import json
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.matching.conftest import INSTRUMENT, Venue


def sample_commands(api: ModuleType) -> list:
    """One command of each kind, with every optional field used somewhere."""
    venue = Venue(api)
    return [
        venue.limit(
            "b1",
            "buy",
            100,
            3,
            tif="GTD",
            expires_at=9,
            min_quality=50,
            min_k=5,
            required_tags={"a"},
            recipient_categories={"category:university"},
            min_term_days=30,
            exclusive=False,
            dataset_id="d1",
        ),
        venue.limit(
            "a1",
            "sell",
            100,
            None,
            quality=70,
            k=5,
            tags={"a", "b"},
            columns={"c"},
            allowed_recipients={"x"},
            denied_recipients={"category:insurance"},
            term_days=90,
        ),
        venue.limit("p1", "sell", 7, 2, tif="IOC"),
        api.Market("m1", INSTRUMENT, "p", api.Side.BUY, 2, constraints=venue.constraints()),
        api.Cancel("b1", INSTRUMENT),
        api.Reduce("b1", INSTRUMENT, 2),
        api.Amend("b1", INSTRUMENT, price=101),
        api.Update("a1", INSTRUMENT, api.Side.SELL, terms=venue.terms("a1", quality=80)),
        api.Clock(1_700_000_000_000),
        api.RunAuction(INSTRUMENT, 100),
        api.SetMode(INSTRUMENT, api.Mode.PERIODIC, 60_000),
    ]


def test_every_command_round_trips_through_json(api: ModuleType) -> None:
    for command in sample_commands(api):
        line = json.dumps(api.command_to_dict(command))
        assert api.command_from_dict(json.loads(line)) == command


@settings(max_examples=50, deadline=None)
@given(
    price=st.integers(1, 10**9),
    qty=st.none() | st.integers(1, 10**6),
    quality=st.integers(0, 100),
    tags=st.frozensets(st.text(min_size=1, max_size=5), max_size=3),
)
def test_ask_round_trips_exactly(
    price: int, qty: int | None, quality: int, tags: frozenset
) -> None:
    import matching.exports as api

    terms = api.AskTerms(
        "d", "non_personal", quality=quality, tags=tags, allowed_purposes=frozenset({"ai.training"})
    )
    command = api.Limit("a", INSTRUMENT, "s", api.Side.SELL, price, qty, terms=terms)
    assert api.command_from_dict(json.loads(json.dumps(api.command_to_dict(command)))) == command


def test_events_serialise_with_their_type(api: ModuleType) -> None:
    trade = api.TradeExecuted(1, INSTRUMENT, "b", "a", "buyer", "seller", 100, 2, None)
    data = api.event_to_dict(trade)
    assert data == {
        "type": "trade",
        "seq": 1,
        "instrument": INSTRUMENT,
        "buy_id": "b",
        "sell_id": "a",
        "buyer": "buyer",
        "seller": "seller",
        "price": 100,
        "qty": 2,
        "dataset_id": None,
    }
    assert api.event_from_dict(data) == trade


@pytest.mark.parametrize(
    "data, message",
    [
        ({"op": "launch"}, "unknown op"),
        ({"op": "cancel", "id": "x"}, "'instrument' must be a string"),
        (
            {
                "op": "limit",
                "id": "x",
                "instrument": "i",
                "participant": "p",
                "side": "buy",
                "price": 1.5,
                "qty": 1,
            },
            "'price' must be an integer",
        ),
        (
            {
                "op": "limit",
                "id": "x",
                "instrument": "i",
                "participant": "p",
                "side": "buy",
                "price": 1,
            },
            "'qty' is required",
        ),
        ({"op": "cancel", "id": "x", "instrument": "i", "colour": "red"}, "unknown field"),
        (
            {
                "op": "limit",
                "id": "x",
                "instrument": "i",
                "participant": "p",
                "side": "buy",
                "price": 1,
                "qty": 1,
                "min_quality": 5,
            },
            "need a purpose",
        ),
        ({"op": "reduce", "id": "x", "instrument": "i", "qty": True}, "'qty' must be an integer"),
    ],
)
def test_bad_commands_are_refused_with_a_reason(api: ModuleType, data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        api.command_from_dict(data)


def test_journal_error_names_the_line(api: ModuleType) -> None:
    lines = ['{"op": "clock", "now": 1}\n', "\n", '{"op": "clock", "now": "soon"}\n']
    with pytest.raises(api.JournalError, match="line 3"):
        api.parse_journal(lines)


def test_replaying_a_journal_rebuilds_the_same_state(api: ModuleType) -> None:
    commands = sample_commands(api)
    engine, events = api.replay(commands)
    lines = [json.dumps(api.command_to_dict(c)) for c in commands]
    again, events_again = api.replay(api.parse_journal(lines))
    assert again.state_hash() == engine.state_hash()
    assert api.events_to_lines(events_again) == api.events_to_lines(events)
