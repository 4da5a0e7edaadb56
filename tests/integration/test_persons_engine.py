"""PDS listings and the engine, on the market's clock: a board's rejection voids the trade with a
journaled `Unwind`, conditions that run out shrink a pool's terms on the engine tick, and a
pooled bid reserves credit for every record it may be invoiced for."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

import matching
from market.banks.tables import PersonalListing, ProvisionalTrade
from market.events import InProcessBus
from market.models import Invoice, JournalCommand, Licence, Listing, Participant, Trade
from market.personal.tables import ProvisionRecord
from market.service import Market
from market.settings import Settings
from market.trading.commands import LicenceTerms, OfferRecords, PlaceBid
from market.trading.risk import worst_case_yen
from tests.unit.market.personal.people import checkup, person

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HEALTH = "pds.health_checkup/personal"


class MarketClock:
    """One clock for the engine (epoch ms) and the desks (aware datetimes)."""

    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> int:
        return int(self.at.timestamp() * 1000)

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> MarketClock:
    return MarketClock()


@pytest.fixture
def market(settings: Settings, clock: MarketClock) -> Iterator[Market]:
    with Market(settings, bus=InProcessBus(), clock=clock) as market:
        market.pds.now = market.banks.now = market.orders.now = clock.now
        yield market


def delegating(market: Market, bank: Participant, name: str, **conditions: Any) -> Participant:
    someone, signed_in = person(market, name)
    market.pds.store_records(
        person=someone,
        items=[("health_checkup", checkup(1)), ("health_checkup", checkup(2))],
        source="api",
    )
    body = {"purposes": ["research.medical"], "categories": ["health_checkup"], **conditions}
    market.pds.put_conditions(person=someone, body=body, signed_in=signed_in)
    market.pds.delegate(person=someone, bank_id=bank.id, signed_in=signed_in)
    return someone


def pool(market: Market, bank: Participant, min_cohort: int) -> Listing:
    terms = LicenceTerms(price_yen=300, allowed_purposes=["research.medical"])
    offer = OfferRecords(categories=["health_checkup"], terms=terms, min_cohort=min_cohort)
    return market.orders.offer_records(seller=bank, offer=offer)


def credited(market: Market, category: str, name: str) -> Participant:
    """A verified business with credit."""
    buyer, _ = market.accounts.register(
        name=name, kind="business", recipient_category=category, credit_limit_yen=1_000_000
    )
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    return market.accounts.set_verification(
        operator=operator, participant_id=buyer.id, verified=True, reason="checked register"
    )


def bid(market: Market, buyer: Participant, **extra: Any) -> Any:
    order = PlaceBid(instrument=HEALTH, max_price_yen=300, purpose="research.medical", **extra)
    return market.orders.place_bid(buyer=buyer, order=order)


def journal(market: Market) -> list[dict[str, Any]]:
    with Session(market.db) as session:
        rows = session.exec(select(JournalCommand).order_by(col(JournalCommand.seq))).all()
        return [row.payload for row in rows]


def test_board_rejection_unwinds_the_trade_through_a_journaled_engine_command(
    market: Market,
) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    for i in range(3):
        delegating(market, bank, f"p{i}")
    listing = pool(market, bank, min_cohort=3)
    lab = credited(market, "research", "Lab")
    [trade] = bid(market, lab, dataset_id=listing.dataset_id).trades
    [(_, request)] = market.banks.board(bank=bank)

    market.banks.decide(
        bank=bank, request_id=request.id, approve=False, reason="倫理審査が未了", member=None
    )

    unwinds = [c for c in journal(market) if c["op"] == "unwind"]
    assert unwinds == [
        {
            "op": "unwind",
            "instrument": HEALTH,
            "seq": trade.seq,
            "buy_id": trade.bid_id,
            "sell_id": listing.id,
            "qty": 1,
        }
    ]
    with Session(market.db) as session:
        provisional = session.get(ProvisionalTrade, trade.id)
        assert provisional is not None and provisional.status == "unwound"
        licence = session.exec(select(Licence).where(Licence.trade_id == trade.id)).one()
        assert licence.revoked_at is not None
        stored = session.get(Listing, listing.id)
        assert stored is not None and stored.licences_sold == 0
        assert session.exec(select(ProvisionRecord)).all() == []
        booked = session.get(Trade, trade.id)
        assert booked is not None and booked.quantity == 0
    # The journal, unwind included, replays to the engine the market holds.
    commands = [matching.command_from_dict(c) for c in journal(market)]
    replayed, events = matching.replay(commands)
    assert replayed.state_hash() == market.trading.state_hash()
    assert [e.seq for e in events if isinstance(e, matching.TradeUnwound)] == [trade.seq]


def test_a_rejection_without_the_engine_stores_nothing(settings: Settings) -> None:
    with Market(settings, bus=InProcessBus()) as running:
        bank, _ = running.accounts.register(name="Bank", kind="info_bank")
        for i in range(3):
            delegating(running, bank, f"p{i}")
        listing = pool(running, bank, min_cohort=3)
        lab = credited(running, "research", "Lab")
        bid(running, lab, dataset_id=listing.dataset_id)
        [(_, request)] = running.banks.board(bank=bank)
    # Beside a stopped market no engine can void the trade: the decision is refused whole.
    beside = Market(settings)
    with pytest.raises(RuntimeError, match="unwound only by the running market"):
        beside.banks.decide(
            bank=bank, request_id=request.id, approve=False, reason="no", member=None
        )
    assert [case.status for case, _ in beside.banks.board(bank=bank)] == ["pending"]
    beside.close()


def test_conditions_running_out_shrink_the_pool_on_the_engine_tick(
    market: Market, clock: MarketClock
) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    lab = credited(market, "research", "Lab")
    delegating(market, bank, "p0", expires_at=(START + timedelta(hours=1)).isoformat())
    for i in (1, 2):
        delegating(market, bank, f"p{i}")
    listing = pool(market, bank, min_cohort=3)

    def served() -> dict[str, list[str]]:
        with Session(market.db) as session:
            row = session.get(PersonalListing, listing.id)
            assert row is not None
            return row.recipients

    assert served() == {"research.medical": [lab.id]}
    updates = len([c for c in journal(market) if c["op"] == "update"])
    clock.at = START + timedelta(minutes=59)
    market.orders.tick_if_due()
    assert served() == {"research.medical": [lab.id]}

    clock.at = START + timedelta(hours=1, seconds=1)
    market.orders.tick_if_due()

    # p0's records stop counting: two people are below the minimum of three.
    assert served() == {}
    assert len([c for c in journal(market) if c["op"] == "update"]) == updates + 1
    assert bid(market, lab, time_in_force="IOC").trades == []
    assert market.banks.cohort(
        viewer=lab, listing_id=listing.id, purpose="research.medical"
    ).below_minimum


LOCATION = "pds.location_history/personal"


def traveller(market: Market, bank: Participant, name: str, purpose: str) -> Any:
    """A person with two location records who delegates to the bank; returns their session."""
    someone, signed_in = person(market, name)
    market.pds.store_records(
        person=someone,
        items=[
            (
                "location_history",
                {
                    "recorded_at": f"2026-05-0{day}T09:00:00+09:00",
                    "latitude": 35.0,
                    "longitude": 135.7,
                },
            )
            for day in (1, 2)
        ],
        source="api",
    )
    body = {"purposes": [purpose], "categories": ["location_history"]}
    market.pds.put_conditions(person=someone, body=body, signed_in=signed_in)
    market.pds.delegate(person=someone, bank_id=bank.id, signed_in=signed_in)
    return someone, signed_in


def test_a_pooled_bid_reserves_every_record_it_may_be_invoiced_for(market: Market) -> None:
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    agency = credited(market, "tourism", "Agency")
    people = [
        traveller(market, bank, f"t{i}", "tourism.promotion" if i < 3 else "research.medical")
        for i in range(4)
    ]
    terms = LicenceTerms(price_yen=50, allowed_purposes=["tourism.promotion"])
    offer = OfferRecords(categories=["location_history"], terms=terms, min_cohort=4)
    market.orders.offer_records(seller=bank, offer=offer)
    order = PlaceBid(instrument=LOCATION, max_price_yen=50, purpose="tourism.promotion")
    resting = market.orders.place_bid(buyer=agency, order=order)
    assert resting.trades == [] and resting.bid.records_per_licence == 8

    # Invoiced per record, so the bid holds credit for all eight records of the pool.
    assert market.orders.risk.reserved_yen(agency.id) == worst_case_yen(50 * 8, 1)

    someone, signed_in = people[3]
    body = {"purposes": ["tourism.promotion"], "categories": ["location_history"]}
    market.pds.put_conditions(person=someone, body=body, signed_in=signed_in)

    # The fourth person's consent lets the resting bid trade: the reservation gives way to the
    # invoice of the records delivered.
    assert market.orders.risk.reserved_yen(agency.id) == 0
    with Session(market.db) as session:
        [trade] = session.exec(select(Trade).where(Trade.buyer_id == agency.id)).all()
        assert trade.quantity == 8
        [invoice] = session.exec(select(Invoice).where(Invoice.trade_id == trade.id)).all()
        assert invoice.net_yen == 50 * 8
