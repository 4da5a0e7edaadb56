"""The constraint schema end to end through the market: recipients, terms, exclusivity, dataset."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from market import db
from market.errors import Forbidden, InvalidRequest
from market.events import InProcessBus
from market.models import Licence, utcnow
from market.service import Market
from market.settings import Settings
from tests.factories import list_sensor_dataset, place_bid, register_buyer

INSTRUMENT = "mobility.traffic/non_personal"


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    with Market(settings, bus=InProcessBus()) as market:
        yield market


def _bid(market: Market, buyer, **constraints):  # type: ignore[no-untyped-def]
    return place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=2_000,
        purpose="research.academic",
        time_in_force="IOC",
        **constraints,
    )


def test_denied_recipient_category_never_receives_the_data(market: Market) -> None:
    list_sensor_dataset(market, denied_recipients=["category:insurance"])
    assert _bid(market, register_buyer(market, category="insurance")).trades == []
    assert len(_bid(market, register_buyer(market, category="research")).trades) == 1


def test_allowed_recipients_limit_who_may_buy(market: Market) -> None:
    allowed = register_buyer(market)
    list_sensor_dataset(market, allowed_recipients=[allowed.id])
    assert _bid(market, register_buyer(market)).trades == []
    assert len(_bid(market, allowed).trades) == 1


def test_exclusive_licence_sells_once(market: Market) -> None:
    with pytest.raises(InvalidRequest, match="licence_count to 1"):
        list_sensor_dataset(market, exclusive=True)
    _, dataset, _ = list_sensor_dataset(market, exclusive=True, licence_count=1)
    first = _bid(market, register_buyer(market), exclusive=True)
    assert len(first.trades) == 1
    assert _bid(market, register_buyer(market)).trades == []
    with Session(market.db) as session:
        licence = session.get(Licence, market.find(Licence, dataset_id=dataset.id)[0].id)
        assert licence is not None and licence.exclusive


def test_bid_for_a_named_dataset_and_a_minimum_term(market: Market) -> None:
    _, short, _ = list_sensor_dataset(market, term_days=30)
    _, long, _ = list_sensor_dataset(market, term_days=365)
    assert _bid(market, register_buyer(market), dataset_id=short.id, min_term_days=90).trades == []
    trades = _bid(market, register_buyer(market), min_term_days=90).trades
    assert [t.dataset_id for t in trades] == [long.id]


def test_licence_term_ends_download_rights(market: Market) -> None:
    _, dataset, _ = list_sensor_dataset(market, term_days=30)
    buyer = register_buyer(market)
    _bid(market, buyer)
    licence = market.find(Licence, buyer_id=buyer.id)[0]
    assert licence.expires_at is not None
    assert timedelta(days=29) < licence.expires_at - utcnow() <= timedelta(days=30)
    market.delivery.deliver(participant=buyer, dataset_id=dataset.id)
    with db.unit_of_work(market.db) as session:
        stored = session.get(Licence, licence.id)
        assert stored is not None
        stored.expires_at = utcnow() - timedelta(seconds=1)
        session.add(stored)
        session.commit()
    with pytest.raises(Forbidden, match="expired"):
        market.delivery.deliver(participant=buyer, dataset_id=dataset.id)
