"""Persistence through the market service, run on SQLite and on PostgreSQL."""

from datetime import UTC

import pytest
from sqlmodel import Session, col, select

from market.errors import UploadRejected
from market.events import InProcessBus
from market.models import ApiKey, Dataset, LedgerEntry, OutboxEvent
from market.participants import InvalidApiKey
from market.service import Market
from market.settings import Settings
from tests.factories import list_sensor_dataset, place_bid, register_buyer, upload


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    market = Market(settings, bus=InProcessBus()).start()
    yield market
    market.close()


def test_api_key_is_stored_only_as_a_hash(market: Market) -> None:
    participant, key = market.accounts.register(name="Seller", kind="business")
    assert market.accounts.authenticate(key).id == participant.id
    with Session(market.db) as session:
        stored = session.exec(select(ApiKey)).one()
    assert key.split("_", 2)[2] not in stored.secret_hash
    with pytest.raises(InvalidApiKey):
        market.accounts.authenticate(key[:-1] + ("x" if key[-1] != "x" else "y"))


def test_timestamps_come_back_timezone_aware(market: Market) -> None:
    participant, _ = market.accounts.register(name="Seller", kind="business")
    with Session(market.db) as session:
        assert session.get(type(participant), participant.id).created_at.tzinfo == UTC  # type: ignore[union-attr]


def test_a_rejected_upload_leaves_no_row_and_no_file(market: Market) -> None:
    seller, _ = market.accounts.register(name="Seller", kind="business")
    with pytest.raises(UploadRejected):
        upload(
            market,
            seller=seller,
            raw=b"a,b\n1\n",
            title="t",
            category="c",
            data_class="non_personal",
        )
    assert market.find(Dataset) == []
    assert list(market.store.root.glob("*")) == []


def test_outbox_events_are_published_once(market: Market) -> None:
    market.accounts.register(name="Seller", kind="business")
    # The background publisher may have published it already; whoever runs second finds nothing.
    market.publish_events()
    assert market.publish_events() == 0
    with Session(market.db) as session:
        events = session.exec(select(OutboxEvent)).all()
    assert [e.type for e in events] == ["ParticipantRegistered"]
    assert events[0].published_at is not None
    assert [name for name, *_ in market.bus.read_recent(10)] == ["ParticipantRegistered"]


def _trade_once(market: Market):  # type: ignore[no-untyped-def]
    seller, dataset, listing = list_sensor_dataset(market, price_yen=7_000, licence_count=2)
    buyer = register_buyer(market, credit_limit_yen=100_000)
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=listing.instrument,
        max_price_yen=9_000,
        purpose="research.academic",
    )
    return seller, buyer, dataset, outcome


def test_trade_books_a_balanced_ledger(market: Market) -> None:
    seller, buyer, _, outcome = _trade_once(market)
    assert [t.price_yen for t in outcome.trades] == [7_000]
    balances = market.credit.trial_balance()
    assert sum(balances.values()) == 0
    # 7,000 + 10% consumption tax; the fee (700) carries its own tax (70).
    assert balances[f"receivable:buyer:{buyer.id}"] == 7_700
    assert balances[f"payable:seller:{seller.id}"] == -6_930
    assert balances["revenue:market_fee"] == -700
    assert balances["tax:consumption_payable"] == -70
    with Session(market.db) as session:
        assert len(session.exec(select(LedgerEntry)).all()) == 4


def test_restart_rebuilds_the_same_books_from_the_journal(
    settings: Settings, market: Market
) -> None:
    _trade_once(market)
    before = market.trading.state_hash()
    market.close()
    restarted = Market(settings, bus=InProcessBus()).start()
    try:
        assert restarted.trading.state_hash() == before
    finally:
        restarted.close()


def test_uploaded_dataset_is_encrypted_on_disk(market: Market) -> None:
    seller, _ = market.accounts.register(name="Seller", kind="business")
    raw = "地点,台数\n新宿駅前,120\n".encode()
    dataset = upload(
        market, seller=seller, raw=raw, title="t", category="c", data_class="non_personal"
    )
    on_disk = market.store.path_of(dataset.id).read_bytes()
    for fragment in ("地点", "新宿駅前", "120"):
        assert fragment.encode() not in on_disk
    delivered = market.delivery.deliver(participant=seller, dataset_id=dataset.id)
    assert b"".join(delivered.chunks) == raw


class UnreachableBus(InProcessBus):
    """A bus whose broker is down."""

    def publish(self, event_id: int, event_type: str, payload: dict) -> None:  # type: ignore[type-arg]
        raise ConnectionError("broker down")


def test_a_bus_outage_neither_fails_the_trade_nor_loses_its_events(settings: Settings) -> None:
    with Market(settings, bus=UnreachableBus()) as market:
        _, _, _, outcome = _trade_once(market)
        assert len(outcome.trades) == 1
        with Session(market.db) as session:
            pending = session.exec(
                select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None))
            ).all()
        assert "TradeExecuted" in {e.type for e in pending}
        market.bus = InProcessBus()
        market.publish_events()  # the background publisher may deliver some of them first
        with Session(market.db) as session:
            left = session.exec(
                select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None))
            ).all()
        assert left == []
        delivered = [name for name, _ in market.bus.read_recent(len(pending) + 10)]
        assert sorted(delivered) == sorted(e.type for e in pending)


def test_a_refused_bid_does_not_replay_the_journal(market: Market) -> None:
    from market.errors import CreditLimitExceeded

    _, _, listing = list_sensor_dataset(market)
    buyer, _ = market.accounts.register(name="Buyer", kind="business", credit_limit_yen=10)
    replays = []
    original = market.trading.rebuild
    market.trading.rebuild = lambda db: replays.append(db) or original(db)  # type: ignore[method-assign]
    with pytest.raises(CreditLimitExceeded):
        place_bid(
            market,
            buyer=buyer,
            instrument=listing.instrument,
            max_price_yen=100,
            purpose="research.academic",
        )
    assert replays == []
