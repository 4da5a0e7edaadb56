"""Snapshots: restoring one and replaying the tail equals replaying everything; next due time."""

import json
from types import ModuleType

import pytest

from bench.matching.stream import mixed_stream
from tests.unit.matching.conftest import BUILDS, INSTRUMENT, Venue, load_build


@pytest.mark.parametrize("cut", [0, 1, 2_000, 5_999])
def test_restore_then_tail_equals_full_replay(venue: Venue, cut: int) -> None:
    api = venue.api
    factory = venue.engine._factory
    commands = mixed_stream(api, 11, 6_000)
    full = api.Engine(factory)
    full_events = full.apply_many(commands)
    head = api.Engine(factory)
    head_events = head.apply_many(commands[:cut])
    snapshot = json.loads(json.dumps(head.snapshot()))
    restored = api.Engine(factory)
    restored.load_snapshot(snapshot)
    restored.validate_internal_state()
    assert restored.state_hash() == head.state_hash()
    tail_events = restored.apply_many(commands[cut:])
    assert head_events + tail_events == full_events
    assert restored.state_hash() == full.state_hash()


@pytest.mark.parametrize("cut", [1_500, 3_000])
def test_a_capture_renders_the_state_it_was_taken_in_whatever_the_engine_does_next(
    venue: Venue, cut: int
) -> None:
    """The market captures under its lock and renders after it, while orders go on filling,
    shrinking, moving and leaving the book: the rendered snapshot is still that moment's."""
    api = venue.api
    engine = api.Engine(venue.engine._factory)
    commands = mixed_stream(api, 13, 6_000)
    engine.apply_many(commands[:cut])
    expected = json.loads(json.dumps(engine.snapshot()))
    captured = engine.capture()
    engine.apply_many(commands[cut:])
    assert json.loads(json.dumps(engine.snapshot())) != expected
    assert json.loads(json.dumps(api.render_capture(captured))) == expected


def test_a_snapshot_is_the_same_data_on_every_build_and_book() -> None:
    snapshots = []
    for package in BUILDS.values():
        loaded = load_build(package)
        if loaded is None:
            continue
        exports, reference = loaded
        for factory in (None, reference.ReferenceBook):
            engine = exports.Engine(factory)
            engine.apply_many(mixed_stream(exports, 5, 3_000))
            snapshots.append(engine.snapshot())
    assert len(snapshots) >= 2
    assert all(snapshot == snapshots[0] for snapshot in snapshots)


def test_a_snapshot_loads_only_into_a_fresh_engine(venue: Venue) -> None:
    venue.ask("a1", 100)
    with pytest.raises(ValueError, match="fresh"):
        venue.engine.load_snapshot(venue.engine.snapshot())
    with pytest.raises(ValueError, match="format"):
        venue.api.Engine().load_snapshot({"format": 99})


def test_next_due_time_is_the_earliest_expiry_or_auction(venue: Venue) -> None:
    api = venue.api
    assert venue.engine.next_due_time() is None
    venue.do(api.Clock(1_000))
    venue.bid("b1", 90, tif="GTD", expires_at=5_000)
    assert venue.engine.next_due_time() == 5_000
    venue.do(api.SetMode("thin", api.Mode.PERIODIC, 60_000))
    assert venue.engine.next_due_time() == 5_000
    venue.do(api.Cancel("b1", INSTRUMENT))
    assert venue.engine.next_due_time() == 61_000
    venue.do(api.Clock(61_000))
    assert venue.engine.next_due_time() == 121_000


def test_size_problem_bounds_lists_and_names(api: ModuleType) -> None:
    venue = Venue(api)
    fine = venue.limit(
        "b1", "buy", 10, 1, required_tags={f"t{i}" for i in range(api.MAX_LIST_ITEMS)}
    )
    assert api.size_problem(fine) is None
    many = venue.limit("b1", "buy", 10, 1, required_tags={f"t{i}" for i in range(101)})
    assert api.size_problem(many) == "required_tags has more than 100 entries"
    long_entry = venue.limit("a1", "sell", 10, 1, denied_recipients={"x" * 201})
    assert "longer than 200" in (api.size_problem(long_entry) or "")
    long_id = api.Cancel("x" * 201, INSTRUMENT)
    assert api.size_problem(long_id) == "id is longer than 200 characters"
