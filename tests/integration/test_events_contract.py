"""One contract for every event bus: the in-process bus and Redis Streams."""

from collections.abc import Iterator

import pytest

from market.events import EventBus, InProcessBus, RedisStreamBus


@pytest.fixture(params=["in_process", pytest.param("redis", marks=pytest.mark.redis)])
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    if request.param == "in_process":
        yield InProcessBus()
    else:
        client, prefix = request.getfixturevalue("redis_client")
        yield RedisStreamBus(client, prefix)


def test_published_events_are_read_back_in_order(bus: EventBus) -> None:
    for i in range(5):
        bus.publish(i + 1, "TradeExecuted", {"n": i, "instrument": "健康/anonymized"})
    recent = bus.read_recent(3)
    assert [payload["n"] for _, payload in recent] == [2, 3, 4]
    assert recent[0] == ("TradeExecuted", {"n": 2, "instrument": "健康/anonymized"})


def test_reading_an_empty_bus_gives_nothing(bus: EventBus) -> None:
    assert bus.read_recent(10) == []


@pytest.mark.redis
def test_redis_bus_keeps_its_keys_under_its_prefix(redis_client) -> None:  # type: ignore[no-untyped-def]
    client, prefix = redis_client
    RedisStreamBus(client, prefix).publish(1, "X", {})
    assert [key.decode() for key in client.scan_iter(f"{prefix}:*")] == [f"{prefix}:events"]
