"""Revision downloads through the market on both databases: which licence a copy carries when a
buyer holds several, what an ended licence may still have, and tracing copies of each revision."""

import io
from datetime import timedelta

import pandas as pd
import pytest
from sqlmodel import Session

from market import db
from market.delivery.desk import Delivery
from market.errors import Forbidden
from market.events import InProcessBus
from market.models import Licence, Participant, utcnow
from market.revisions.entitlement import NoSuchRevision, RevisionNotCovered
from market.service import Market
from market.settings import Settings
from tests.factories import offer_licences, place_bid, register_buyer, sensor_csv, upload

INSTRUMENT = "mobility.traffic/non_personal"
ROWS = 300


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    with Market(settings, bus=InProcessBus()) as market:
        yield market


def _buy(market: Market, buyer: Participant, dataset_id: str) -> Licence:
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose="research.academic",
        dataset_id=dataset_id,
        time_in_force="IOC",
    )
    assert len(outcome.trades) == 1
    return market.find(Licence, trade_id=outcome.trades[0].id)[0]


def _content(delivery: Delivery) -> bytes:
    return b"".join(delivery.chunks)


def _seller_with_two_revisions(market: Market) -> tuple[Participant, str]:
    """A dataset listed with `revision` coverage; revision 2 adds a column."""
    seller, _ = market.accounts.register(name="Seller", kind="business")
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(ROWS),
        title="t",
        category="mobility.traffic",
        data_class="non_personal",
    )
    offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=1_000,
        licence_count=None,
        allowed_purposes=["research"],
    )
    return seller, dataset.id


def _publish(market: Market, seller: Participant, dataset_id: str) -> None:
    raw = sensor_csv(ROWS, columns=("sensor_id", "reading", "status"))
    market.revisions.publish(seller=seller, dataset_id=dataset_id, raw=raw)


def test_a_buyer_of_two_revisions_gets_each_under_the_licence_that_covers_it(
    market: Market,
) -> None:
    seller, dataset_id = _seller_with_two_revisions(market)
    buyer = register_buyer(market, category="research")
    first = _buy(market, buyer, dataset_id)
    _publish(market, seller, dataset_id)
    second = _buy(market, buyer, dataset_id)
    assert (first.revision, second.revision) == (1, 2)

    newest = market.delivery.deliver(participant=buyer, dataset_id=dataset_id)
    assert (newest.revision, newest.licence and newest.licence.id) == (2, second.id)
    old = market.delivery.deliver(participant=buyer, dataset_id=dataset_id, revision=1)
    assert (old.revision, old.licence and old.licence.id) == (1, first.id)

    # Each copy traces to the licence it was made under, whichever revision's columns it has.
    for delivery, licence, other in ((old, first, second), (newest, second, first)):
        content = _content(delivery)
        frame = pd.read_csv(io.BytesIO(content), dtype=str, na_filter=False)
        leak = frame.iloc[10:].to_csv(index=False).encode()
        named = [s.licence_id for s in market.delivery.trace(leak).suspects]
        assert named == [licence.id], (delivery.revision, named)
        assert other.id not in named


def test_an_ended_licence_delivers_nothing_and_the_live_one_only_its_revision(
    market: Market,
) -> None:
    seller, dataset_id = _seller_with_two_revisions(market)
    buyer = register_buyer(market, category="research")
    first = _buy(market, buyer, dataset_id)
    _publish(market, seller, dataset_id)
    second = _buy(market, buyer, dataset_id)
    with db.unit_of_work(market.db) as session:
        licence = session.get(Licence, first.id)
        assert licence is not None
        licence.revoked_at = utcnow() - timedelta(seconds=1)
        session.add(licence)

    with pytest.raises(RevisionNotCovered, match="cover revisions 2, not revision 1"):
        market.delivery.deliver(participant=buyer, dataset_id=dataset_id, revision=1)
    with pytest.raises(Forbidden, match="expired or was revoked"):
        market.delivery.download_url(buyer=buyer, licence_id=first.id)
    with pytest.raises(NoSuchRevision, match="revisions are 1 to 2"):
        market.delivery.deliver(participant=buyer, dataset_id=dataset_id, revision=3)
    served = market.delivery.deliver(participant=buyer, dataset_id=dataset_id)
    assert (served.revision, served.licence and served.licence.id) == (2, second.id)

    listed = market.revisions.revisions(viewer=buyer, dataset_id=dataset_id)
    assert [(r["number"], r["your_licences"]) for r in listed] == [(1, []), (2, [second.id])]
    with Session(market.db) as session:
        stored = session.get(Licence, first.id)
        assert stored is not None and stored.revoked_at is not None


def test_the_seller_downloads_any_revision_as_stored(market: Market) -> None:
    seller, dataset_id = _seller_with_two_revisions(market)
    _publish(market, seller, dataset_id)
    one = market.delivery.deliver(participant=seller, dataset_id=dataset_id, revision=1)
    assert _content(one) == sensor_csv(ROWS) and one.licence is None
    current = market.delivery.deliver(participant=seller, dataset_id=dataset_id)
    assert current.revision == 2
    assert _content(current) == sensor_csv(ROWS, columns=("sensor_id", "reading", "status"))
