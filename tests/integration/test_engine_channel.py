"""The engine channel: a worker's order desk forwards to the engine owner (issue 14 item 5).

An engine owner and a worker run in this process on one database, exactly as two processes
would (the worker holds no engine and reaches the owner only through the channel): over the
local Unix socket and over a Redis Stream, the same behaviour.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_lib
from sqlmodel import Session, select

from market.engine_channel import EngineChannelUnavailable, ForwardingOrderDesk
from market.engine_channel.codec import dumps, encode_order, loads
from market.engine_channel.forwarding import EngineInOwnerOnly
from market.engine_channel.handler import CommandHandler
from market.engine_channel.local import LocalChannelServer
from market.engine_channel.stream import CONSUMER, GROUP, StreamChannelServer, stream_key
from market.errors import CreditLimitExceeded, EngineOwnedElsewhere
from market.events import InProcessBus
from market.idempotency import Claim
from market.models import Bid, IdempotencyRecord, Trade
from market.service import Market
from market.settings import Settings
from market.trading.commands import PlaceBid
from tests.factories import list_sensor_dataset, register_buyer
from tests.service_urls import redis_url

PURPOSE = "research.academic"


@dataclass
class Pair:
    owner: Market
    worker: Market


def _bid(instrument: str, price: int = 1_000) -> PlaceBid:
    return PlaceBid(instrument=instrument, max_price_yen=price, purpose=PURPOSE)


@pytest.fixture(params=["local", "redis"])
def channel_settings(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Settings]:
    if request.param == "local":
        yield settings
        return
    client = request.getfixturevalue("redis_client")
    yield settings.model_copy(update={"redis_url": redis_url(), "redis_prefix": client[1]})


@pytest.fixture
def pair(channel_settings: Settings) -> Iterator[Pair]:
    owner = Market(
        channel_settings.model_copy(update={"engine_serve_channel": True}), bus=InProcessBus()
    )
    worker = Market(
        channel_settings.model_copy(update={"engine_role": "worker"}), bus=InProcessBus()
    )
    with owner, worker:
        yield Pair(owner, worker)


def test_orders_entered_through_a_worker_trade_in_the_owners_engine(pair: Pair) -> None:
    assert isinstance(pair.worker.orders, ForwardingOrderDesk)
    _, _, listing = list_sensor_dataset(pair.worker, price_yen=1_000)
    buyer = register_buyer(pair.worker)

    outcome = pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument))

    assert [t.listing_id for t in outcome.trades] == [listing.id]
    assert outcome.bid.status == "filled"
    with Session(pair.owner.db) as session:
        assert session.get(Bid, outcome.bid.id) is not None
        assert session.exec(select(Trade)).one().bid_id == outcome.bid.id
    # The order reached the owner's engine: its book holds the ask, the worker holds no engine.
    assert pair.owner.trading.engine.books[listing.instrument]
    assert pair.worker.trading.engine.books == {}


def test_a_refused_order_raises_the_owners_problem_and_stores_nothing(pair: Pair) -> None:
    _, _, listing = list_sensor_dataset(pair.owner, price_yen=1_000)
    buyer = register_buyer(pair.owner, credit_limit_yen=500)

    with pytest.raises(CreditLimitExceeded) as refused:
        pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument))

    assert refused.value.status == 402 and "credit" in refused.value.reason
    with Session(pair.owner.db) as session:
        assert session.exec(select(Bid)).all() == []


def test_cancel_and_amend_through_a_worker_change_the_owners_book(pair: Pair) -> None:
    _, _, listing = list_sensor_dataset(pair.owner, price_yen=1_000)
    buyer = register_buyer(pair.owner)
    resting = pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 500)).bid

    amended = pair.worker.orders.amend_bid(buyer=buyer, bid_id=resting.id, max_price_yen=1_000)
    assert amended.bid.status == "filled" and len(amended.trades) == 1

    other = pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 400)).bid
    assert pair.owner.orders.risk.reserved_yen(buyer.id) > 0
    assert pair.worker.orders.risk.reserved_yen(buyer.id) == pair.owner.orders.risk.reserved_yen(
        buyer.id
    )
    cancelled = pair.worker.orders.cancel_bid(buyer=buyer, bid_id=other.id)
    assert cancelled.status == "cancelled"
    assert pair.owner.orders.risk.reserved_yen(buyer.id) == 0


def test_a_retried_idempotency_key_is_answered_from_the_owners_record(pair: Pair) -> None:
    _, _, listing = list_sensor_dataset(pair.owner, price_yen=1_000)
    buyer = register_buyer(pair.owner)

    def claim() -> Claim:
        # The worker died after the owner committed: its record never got the response.
        return Claim(buyer.id, "retry-me", lambda _s, outcome: {"bid": outcome.bid.id})

    first = pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument), claim=claim())
    again = pair.worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument), claim=claim())

    assert again.bid.id == first.bid.id
    with Session(pair.owner.db) as session:
        assert len(session.exec(select(Bid)).all()) == 1


def test_a_worker_never_owns_the_engine_and_a_second_owner_still_refuses(pair: Pair) -> None:
    assert pair.worker.running and pair.owner.running
    second = Market(pair.owner.settings, bus=InProcessBus())
    with pytest.raises(EngineOwnedElsewhere):
        second.start()
    second.close()


def test_a_worker_without_an_owner_answers_503(settings: Settings) -> None:
    worker = Market(settings.model_copy(update={"engine_role": "worker"}), bus=InProcessBus())
    with worker:
        buyer = register_buyer(worker)
        with pytest.raises(EngineChannelUnavailable) as unavailable:
            worker.orders.place_bid(buyer=buyer, order=_bid("mobility.traffic/non_personal"))
    assert unavailable.value.status == 503
    with Session(worker.db) as session:
        assert session.exec(select(Bid)).all() == []


def test_a_command_redelivered_on_the_stream_is_not_applied_twice(
    settings: Settings, redis_client: tuple[redis_lib.Redis, str]
) -> None:
    client, prefix = redis_client
    owner_settings = settings.model_copy(update={"redis_url": redis_url(), "redis_prefix": prefix})
    with Market(owner_settings, bus=InProcessBus()) as owner:
        _, _, listing = list_sensor_dataset(owner, price_yen=1_000)
        buyer = register_buyer(owner)
        handler = CommandHandler(owner.orders, owner.db)
        message = {
            "id": "c0ffee",
            "op": "place_bid",
            "participant_id": buyer.id,
            "args": {"order": encode_order(_bid(listing.instrument))},
        }
        stream = stream_key(prefix)
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        client.xadd(stream, {"message": dumps(message), "reply_to": f"{prefix}:reply"})
        # An owner took the entry and committed the order, then died before its XACK.
        [[_, [(entry_id, _)]]] = client.xreadgroup(GROUP, CONSUMER, {stream: ">"}, count=1)
        first = handler.handle(loads(dumps(message)))
        assert client.xpending(stream, GROUP)["pending"] == 1

        # The next owner is given the pending entry first and answers it from the stored result.
        server = StreamChannelServer(client, prefix, handler.handle)
        server.start()
        try:
            popped = client.blpop([f"{prefix}:reply"], timeout=10)
        finally:
            server.stop()

        assert popped is not None and loads(popped[1]) == first
        assert client.xpending(stream, GROUP)["pending"] == 0
        with Session(owner.db) as session:
            assert len(session.exec(select(Bid)).all()) == 1
            assert len(session.exec(select(Trade)).all()) == 1
            assert session.get(IdempotencyRecord, (buyer.id, "engine:c0ffee")) is not None
        assert entry_id


def test_other_desks_work_commits_in_a_worker_unless_it_needs_the_engine(pair: Pair) -> None:
    buyer = register_buyer(pair.owner)

    def record(key: str) -> Callable[[Session], None]:
        return lambda session: session.add(
            IdempotencyRecord(participant_id=buyer.id, key=key, request_hash="h")
        )

    def needs_engine(session: Session) -> None:
        record("engine-work")(session)
        pair.worker.orders.submit(session, None)

    pair.worker.orders.transaction(record("plain-work"))
    with pytest.raises(EngineInOwnerOnly):
        pair.worker.orders.transaction(needs_engine)

    with Session(pair.owner.db) as session:
        keys = session.exec(
            select(IdempotencyRecord.key).where(IdempotencyRecord.participant_id == buyer.id)
        ).all()
    assert keys == ["plain-work"]


def test_workers_are_refused_with_503_once_the_owner_stopped(settings: Settings) -> None:
    owner = Market(settings.model_copy(update={"engine_serve_channel": True}), bus=InProcessBus())
    worker = Market(settings.model_copy(update={"engine_role": "worker"}), bus=InProcessBus())
    with worker:
        with owner:
            _, _, listing = list_sensor_dataset(owner, price_yen=1_000)
            buyer = register_buyer(owner)
            worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 100))
        with pytest.raises(EngineChannelUnavailable):
            worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 100))
    with Session(worker.db) as session:
        assert len(session.exec(select(Bid)).all()) == 1


def test_a_worker_reconnects_to_a_restarted_owner(settings: Settings) -> None:
    owner_settings = settings.model_copy(update={"engine_serve_channel": True})
    worker = Market(settings.model_copy(update={"engine_role": "worker"}), bus=InProcessBus())
    with worker:
        with Market(owner_settings, bus=InProcessBus()) as owner:
            _, _, listing = list_sensor_dataset(owner, price_yen=1_000)
            buyer = register_buyer(owner)
            worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 100))
        with Market(owner_settings, bus=InProcessBus()):
            worker.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 100))
    with Session(worker.db) as session:
        assert len(session.exec(select(Bid)).all()) == 2


def test_a_redelivered_cancel_is_answered_from_the_answer_its_transaction_stored(
    settings: Settings,
) -> None:
    with Market(settings, bus=InProcessBus()) as owner:
        _, _, listing = list_sensor_dataset(owner, price_yen=1_000)
        buyer = register_buyer(owner)
        resting = owner.orders.place_bid(buyer=buyer, order=_bid(listing.instrument, 500))
        handler = CommandHandler(owner.orders, owner.db)
        message = {
            "id": "cancel-1",
            "op": "cancel_bid",
            "participant_id": buyer.id,
            "args": {"bid_id": resting.bid.id},
        }
        journal_before = owner.trading.applied_seq
        first = handler.handle(loads(dumps(message)))
        assert first == {"ok": {"bid_id": resting.bid.id}}
        applied = owner.trading.applied_seq
        assert applied > journal_before
        again = handler.handle(loads(dumps(message)))
        assert again == first
        assert owner.trading.applied_seq == applied, "the redelivery reached the engine"
        with Session(owner.db) as session:
            assert session.get(Bid, resting.bid.id).status == "cancelled"  # type: ignore[union-attr]
            record = session.get(IdempotencyRecord, (buyer.id, "engine:cancel-1"))
            assert record is not None and record.response == {"bid_id": resting.bid.id}

        # A refused cancel stores no answer: its retry is refused again, not answered "ok".
        refused = {**message, "id": "cancel-2"}
        assert "problem" in handler.handle(loads(dumps(refused)))
        with Session(owner.db) as session:
            assert session.get(IdempotencyRecord, (buyer.id, "engine:cancel-2")) is None


def test_stopping_the_local_channel_ends_its_accepting_thread(tmp_path: Path) -> None:
    """The accepting thread blocks in accept(); closing the listener alone would not wake it
    (stop then waited out its join timeout and left the thread behind)."""
    server = LocalChannelServer(tmp_path / "engine.sock", b"k" * 32, lambda message: message)
    server.start()
    accepting = server._thread
    assert accepting is not None and accepting.is_alive()
    server.stop()
    assert not accepting.is_alive()
    assert not (tmp_path / "engine.sock").exists()
