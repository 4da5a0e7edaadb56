"""The engine's `Unwind`: a trade the market could not complete (a board's rejection) is voided
by a journaled command that replays to the same books, on every build and book."""

import importlib
from types import ModuleType
from typing import Any

import pytest

INSTRUMENT = "pds.health_checkup/personal"
PURPOSE = "research.medical"


def _build(package: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{package}.exports")
    except ImportError:
        return None


def _reference(package: str) -> Any:
    return importlib.import_module(f"{package}.reference").ReferenceBook


BUILDS = [
    pytest.param(("matching", False), id="interpreted-fast"),
    pytest.param(("matching", True), id="interpreted-reference"),
    pytest.param(
        ("matching._native", False),
        id="compiled-fast",
        marks=pytest.mark.skipif(_build("matching._native") is None, reason="not built"),
    ),
]


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> tuple[ModuleType, Any]:
    package, reference = request.param
    api = _build(package)
    assert api is not None
    return api, (_reference(package) if reference else None)


def _ask(api: ModuleType, order_id: str, qty: int | None) -> Any:
    terms = api.AskTerms(
        dataset_id=f"ds-{order_id}",
        data_class="personal",
        allowed_purposes=frozenset({PURPOSE}),
    )
    return api.Limit(order_id, INSTRUMENT, "bank", api.Side.SELL, 300, qty, terms=terms)


def _bid(api: ModuleType, order_id: str, qty: int = 1) -> Any:
    constraints = api.BidConstraints(purpose=PURPOSE, dataset_id="ds-pool")
    return api.Limit(
        order_id, INSTRUMENT, "insurer", api.Side.BUY, 300, qty, constraints=constraints
    )


def _journal(api: ModuleType, commands: list[Any]) -> list[Any]:
    """Commands through their JSON form, as the market journals them."""
    return [api.command_from_dict(api.command_to_dict(c)) for c in commands]


def test_unwind_gives_a_limited_ask_its_licences_back_and_replays_the_same(
    build: tuple[ModuleType, Any],
) -> None:
    api, factory = build
    engine = api.Engine(factory)
    traded = engine.apply_many([_ask(api, "pool", 3), _bid(api, "b1")])
    [trade] = [e for e in traded if isinstance(e, api.TradeExecuted)]
    unwind = api.Unwind(INSTRUMENT, trade.seq, trade.buy_id, trade.sell_id, trade.qty)
    [event] = engine.apply(unwind)
    assert event == api.TradeUnwound(trade.seq, INSTRUMENT, "b1", "pool", 1, 1)
    assert api.event_to_dict(event)["type"] == "unwound"
    engine.validate_internal_state()
    # The ask sells its third licence again: three bids, three trades.
    more = engine.apply_many([_bid(api, f"b{i}") for i in (2, 3, 4)])
    assert len([e for e in more if isinstance(e, api.TradeExecuted)]) == 3

    commands = [_ask(api, "pool", 3), _bid(api, "b1"), unwind] + [
        _bid(api, f"b{i}") for i in (2, 3, 4)
    ]
    replayed, events = api.replay(_journal(api, commands), factory)
    assert replayed.state_hash() == engine.state_hash()
    assert [e for e in events if isinstance(e, api.TradeUnwound)] == [event]


def test_unwind_of_an_unlimited_pool_changes_no_book(build: tuple[ModuleType, Any]) -> None:
    api, factory = build
    engine = api.Engine(factory)
    traded = engine.apply_many([_ask(api, "pool", None), _bid(api, "b1")])
    [trade] = [e for e in traded if isinstance(e, api.TradeExecuted)]
    before = engine.state_hash()
    [event] = engine.apply(api.Unwind(INSTRUMENT, trade.seq, "b1", "pool", 1))
    assert isinstance(event, api.TradeUnwound) and event.restored == 0
    assert engine.state_hash() == before


@pytest.mark.parametrize(("seq", "qty"), [(0, 1), (2, 1), (1, 0)])
def test_unwind_of_no_trade_is_rejected(build: tuple[ModuleType, Any], seq: int, qty: int) -> None:
    api, factory = build
    engine = api.Engine(factory)
    engine.apply_many([_ask(api, "pool", 3), _bid(api, "b1")])
    before = engine.state_hash()
    [event] = engine.apply(api.Unwind(INSTRUMENT, seq, "b1", "pool", qty))
    assert isinstance(event, api.Rejected) and event.reason == "no such trade to unwind"
    assert engine.state_hash() == before


def test_format_one_journals_know_no_unwind() -> None:
    import matching

    data = matching.command_to_dict(matching.Unwind(INSTRUMENT, 1, "b1", "pool", 1))
    assert data == {
        "op": "unwind",
        "instrument": INSTRUMENT,
        "seq": 1,
        "buy_id": "b1",
        "sell_id": "pool",
        "qty": 1,
    }
    assert matching.command_from_dict(data, 2) == matching.Unwind(INSTRUMENT, 1, "b1", "pool", 1)
    with pytest.raises(ValueError, match="unknown op"):
        matching.command_from_dict(data, 1)
