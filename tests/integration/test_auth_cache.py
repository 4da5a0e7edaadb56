"""Verified API keys in memory: served within their TTL, evicted at once by revocation here and,
through Redis, in another worker process; without Redis a worker is stale for at most the TTL."""

import multiprocessing
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest
import redis as redis_lib
from sqlmodel import Session

from market import db, participants
from market.auth_cache import ApiKeyCache
from market.models import Participant
from market.participants import InvalidApiKey
from market.service import Market
from market.settings import Settings
from tests.service_urls import redis_url


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def market(settings: Settings) -> Iterator[Market]:
    market = Market(settings).start()
    yield market
    market.close()


def _key_id(key: str) -> str:
    return key.split("_")[1]


def _counting(market: Market) -> tuple[list[str], Any]:
    calls: list[str] = []

    def verify(presented: str) -> Participant:
        calls.append(presented)
        return market.accounts.authenticate(presented)

    return calls, verify


def test_a_verified_key_is_served_from_memory_until_its_ttl_ends(market: Market) -> None:
    _, key = market.accounts.register(name="Cached", kind="business")
    clock = FakeClock()
    cache = ApiKeyCache(db=market.db, ttl_seconds=2.0, clock=clock)
    calls, verify = _counting(market)
    first = cache.authenticate(key, verify)
    clock.now += 1.9
    assert cache.authenticate(key, verify).id == first.id
    assert len(calls) == 1
    clock.now += 0.2
    cache.authenticate(key, verify)
    assert len(calls) == 2


def test_a_wrong_secret_under_a_cached_key_id_is_refused(market: Market) -> None:
    _, key = market.accounts.register(name="Guessed", kind="business")
    cache = ApiKeyCache(db=market.db, ttl_seconds=60.0)
    calls, verify = _counting(market)
    cache.authenticate(key, verify)
    forged = key[:-4] + ("0000" if not key.endswith("0000") else "1111")
    with pytest.raises(InvalidApiKey):
        cache.authenticate(forged, verify)
    assert calls == [key, forged]


def test_a_zero_ttl_caches_nothing(market: Market) -> None:
    _, key = market.accounts.register(name="Uncached", kind="business")
    cache = ApiKeyCache(db=market.db, ttl_seconds=0)
    calls, verify = _counting(market)
    cache.authenticate(key, verify)
    cache.authenticate(key, verify)
    assert len(calls) == 2


def test_revoking_ones_own_key_evicts_it_at_once(market: Market) -> None:
    owner, key = market.accounts.register(name="Rotating", kind="business")
    market.accounts.issue_key(owner)
    cache = market.key_cache
    assert cache.authenticate(key, market.accounts.authenticate).id == owner.id
    assert cache.authenticate(key, market.accounts.authenticate).id == owner.id
    assert cache.hits >= 1
    market.accounts.revoke_own_key(participant=owner, key_id=_key_id(key))
    with pytest.raises(InvalidApiKey):
        cache.authenticate(key, market.accounts.authenticate)


def test_an_operator_revocation_evicts_the_key_at_once(market: Market) -> None:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    leaked, key = market.accounts.register(name="Leaky", kind="business")
    cache = market.key_cache
    cache.authenticate(key, market.accounts.authenticate)
    market.accounts.revoke_key(operator=operator, key_id=_key_id(key), reason="leaked in a log")
    with pytest.raises(InvalidApiKey):
        cache.authenticate(key, market.accounts.authenticate)
    assert leaked.id not in {e.participant.id for e in cache._entries.values()}


def test_a_change_to_the_participant_is_seen_by_the_next_request(market: Market) -> None:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    buyer, key = market.accounts.register(name="Checked", kind="business", recipient_category="x")
    cache = market.key_cache
    assert cache.authenticate(key, market.accounts.authenticate).verification == "unverified"
    market.accounts.set_verification(
        operator=operator, participant_id=buyer.id, verified=True, reason="registry checked"
    )
    assert cache.authenticate(key, market.accounts.authenticate).verification == "verified"


def test_a_check_that_began_before_a_revocation_is_not_cached(market: Market) -> None:
    owner, key = market.accounts.register(name="Racing", kind="business")
    market.accounts.issue_key(owner)
    cache = market.key_cache

    def verify_then_revoke(presented: str) -> Participant:
        participant = market.accounts.authenticate(presented)
        market.accounts.revoke_own_key(participant=owner, key_id=_key_id(key))
        return participant

    cache.authenticate(key, verify_then_revoke)
    with pytest.raises(InvalidApiKey):
        cache.authenticate(key, market.accounts.authenticate)


# Two worker processes: this test process (a started market) and a second one that only
# authenticates, each with its own cache, sharing the database (and Redis when given).


def _worker(
    database_url: str, redis: str | None, channel: str, ttl: float, pipe: Connection
) -> None:
    engine = db.make_engine(database_url)
    client = redis_lib.Redis.from_url(redis) if redis else None
    cache = ApiKeyCache(db=engine, ttl_seconds=ttl, redis=client, channel=channel)
    cache.start()
    pipe.send(cache.wait_subscribed(30.0))
    verified_at: dict[str, float] = {}

    def verify(presented: str) -> Participant:
        with Session(engine) as session:
            participant = participants.authenticate(session=session, presented=presented)
        verified_at[presented] = time.monotonic()
        return participant

    while (key := pipe.recv()) is not None:
        hits = cache.hits
        try:
            cache.authenticate(key, verify)
            accepted = True
        except InvalidApiKey:
            accepted = False
        from_memory = cache.hits > hits
        age = time.monotonic() - verified_at[key] if from_memory else 0.0
        pipe.send((accepted, from_memory, age))
    cache.stop()
    engine.dispose()


class Worker:
    """The second worker process, asked to authenticate keys one at a time."""

    def __init__(self, settings: Settings, redis: str | None, channel: str, ttl: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(
            target=_worker, args=(settings.resolved_database_url, redis, channel, ttl, child)
        )
        self.process.start()
        assert self.pipe.poll(60), "the worker did not start"
        assert self.pipe.recv() is True, "the worker could not subscribe"

    def check(self, key: str) -> tuple[bool, bool, float]:
        self.pipe.send(key)
        assert self.pipe.poll(60), "the worker did not answer"
        answer: tuple[bool, bool, float] = self.pipe.recv()
        return answer

    def close(self) -> None:
        self.pipe.send(None)
        self.process.join(30)
        if self.process.is_alive():
            self.process.kill()


def _answers_until_refused(worker: Worker, key: str) -> list[tuple[bool, bool, float]]:
    pause = threading.Event()
    answers = []
    for _ in range(600):
        answers.append(worker.check(key))
        if not answers[-1][0]:
            break
        pause.wait(0.05)
    return answers


@pytest.mark.redis
def test_with_redis_a_revocation_reaches_the_other_worker_before_its_ttl(
    settings: Settings, redis_client: tuple[redis_lib.Redis, str]
) -> None:
    _, prefix = redis_client
    ttl = 120.0
    configured = settings.model_copy(
        update={"redis_url": redis_url(), "redis_prefix": prefix, "api_key_cache_seconds": ttl}
    )
    market = Market(configured).start()
    worker = None
    try:
        assert market.key_cache.wait_subscribed(30.0)
        owner, key = market.accounts.register(name="Two workers", kind="business")
        spare = market.accounts.issue_key(owner)
        worker = Worker(configured, redis_url(), market.key_cache.channel, ttl)
        assert worker.check(key) == (True, False, 0.0)
        assert worker.check(key)[:2] == (True, True)
        market.key_cache.authenticate(key, market.accounts.authenticate)

        market.accounts.revoke_own_key(participant=owner, key_id=_key_id(key))

        with pytest.raises(InvalidApiKey):
            market.key_cache.authenticate(key, market.accounts.authenticate)
        answers = _answers_until_refused(worker, key)
        assert answers[-1][0] is False, "the other worker kept accepting a revoked key"
        # Whatever it still accepted came from memory, well inside its TTL: the message, not
        # the expiry, ended it.
        assert all(from_memory and age < ttl for ok, from_memory, age in answers if ok)
        assert worker.check(spare)[0] is True
    finally:
        if worker is not None:
            worker.close()
        market.close()


def test_without_redis_the_other_worker_is_stale_for_at_most_the_ttl(settings: Settings) -> None:
    ttl = 1.0
    configured = settings.model_copy(update={"api_key_cache_seconds": ttl})
    market = Market(configured).start()
    worker = None
    try:
        owner, key = market.accounts.register(name="No broker", kind="business")
        market.accounts.issue_key(owner)
        worker = Worker(configured, None, "unused", ttl)
        assert worker.check(key)[0] is True

        market.accounts.revoke_own_key(participant=owner, key_id=_key_id(key))

        with pytest.raises(InvalidApiKey):
            market.key_cache.authenticate(key, market.accounts.authenticate)
        answers = _answers_until_refused(worker, key)
        assert answers[-1][0] is False
        stale = [age for ok, from_memory, age in answers if ok]
        assert all(age <= ttl for age in stale), f"accepted from memory past the TTL: {stale}"
    finally:
        if worker is not None:
            worker.close()
        market.close()
