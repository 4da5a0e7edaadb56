"""Snapshots are spaced by the book's size as well as by the interval (market/trading/service.py)."""

import matching
from market.trading.service import TradingService


def _rest(service: TradingService, count: int) -> None:
    constraints = matching.BidConstraints(purpose="research.statistics")
    for number in range(count):
        events = service.engine.apply(
            matching.Limit(
                id=f"b{number}",
                instrument="health",
                participant="buyer",
                side=matching.Side.BUY,
                price=100,
                qty=1,
                tif=matching.TimeInForce.GTC,
                constraints=constraints,
            )
        )
        assert isinstance(events[0], matching.Accepted)


def test_a_small_book_is_snapshotted_every_interval() -> None:
    service = TradingService(snapshot_interval=10)
    _rest(service, 4)
    service.since_snapshot = 9
    assert not service.snapshot_due()
    service.since_snapshot = 10
    assert service.snapshot_due()


def test_a_book_larger_than_the_interval_waits_for_as_many_commands_as_it_holds_orders() -> None:
    service = TradingService(snapshot_interval=10)
    _rest(service, 25)
    assert service.live_orders() == 25
    service.since_snapshot = 24
    assert not service.snapshot_due()
    service.since_snapshot = 25
    assert service.snapshot_due()
