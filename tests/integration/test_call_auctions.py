"""Periodic call auctions (板寄せ) driven by the market: on command and on a timer."""

import pytest

from market.events import InProcessBus
from market.service import Market
from market.settings import Settings
from tests.factories import list_sensor_dataset, place_bid, register_buyer

INSTRUMENT = "mobility.traffic/non_personal"
# One ask at 1,000 and one bid at 3,000 with no earlier trade: every price between them fills the
# same volume with the same imbalance and no reference price decides, so the lowest one wins.
AUCTION_PRICE = 1_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def market(settings: Settings, clock: FakeClock):  # type: ignore[no-untyped-def]
    with Market(settings, bus=InProcessBus(), clock=clock) as market:
        operator, _ = market.accounts.register(name="Ops", kind="operator")
        market.create_instrument(operator=operator, name=INSTRUMENT)
        yield market


def _cross(market: Market):  # type: ignore[no-untyped-def]
    list_sensor_dataset(market, licence_count=5)
    return place_bid(
        market,
        buyer=register_buyer(market),
        instrument=INSTRUMENT,
        max_price_yen=3_000,
        purpose="research.statistics",
    )


def test_periodic_instrument_trades_only_in_the_auction(market: Market) -> None:
    market.orders.set_trading_mode(instrument=INSTRUMENT, mode="periodic")
    assert _cross(market).trades == []
    trades = market.orders.run_auction(instrument=INSTRUMENT)
    assert [(t.price_yen, t.quantity) for t in trades] == [(AUCTION_PRICE, 1)]
    # The buyer owes the auction price and 10% consumption tax (a business seller is taxable).
    owed = trades[0].price_yen + trades[0].price_yen // 10
    assert market.credit.trial_balance()[f"receivable:buyer:{trades[0].buyer_id}"] == owed


def test_timed_auction_runs_when_the_clock_passes_its_interval(
    market: Market, clock: FakeClock
) -> None:
    market.orders.set_trading_mode(instrument=INSTRUMENT, mode="periodic", interval_seconds=60)
    assert market.trading.has_timed_auctions()
    _cross(market)
    clock.now += 30_000
    assert market.orders.tick() == []
    clock.now += 31_000
    assert len(market.orders.tick()) == 1


def test_modes_survive_a_restart(settings: Settings, market: Market, clock: FakeClock) -> None:
    market.orders.set_trading_mode(instrument=INSTRUMENT, mode="periodic", interval_seconds=60)
    market.close()
    with Market(settings, bus=InProcessBus(), clock=clock) as restarted:
        assert restarted.trading.has_timed_auctions()
