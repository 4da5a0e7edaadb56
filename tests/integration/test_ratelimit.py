"""One contract for every token-bucket store: in-process and Redis (real Redis, no stand-in)."""

import pytest

from market.ratelimit import (
    BucketStore,
    InProcessBuckets,
    RateLimit,
    RateLimited,
    RateLimiter,
    RedisBuckets,
)

SECOND = 1_000


@pytest.fixture(params=["in_process", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest) -> BucketStore:
    if request.param == "in_process":
        return InProcessBuckets()
    client, prefix = request.getfixturevalue("redis_client")
    return RedisBuckets(client, prefix)


def test_a_full_bucket_allows_its_burst_then_refuses_until_a_token_is_due(
    store: BucketStore,
) -> None:
    limit = RateLimit(per_second=2, burst=3)
    decisions = [store.take("orders:p1", limit, 0, 1) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after_seconds == 1
    assert not store.take("orders:p1", limit, 499, 1).allowed
    assert store.take("orders:p1", limit, 500, 1).allowed
    assert not store.take("orders:p1", limit, 500, 1).allowed


def test_refill_stops_at_the_burst(store: BucketStore) -> None:
    limit = RateLimit(per_second=10, burst=2)
    store.take("k", limit, 0, 1)
    later = 3_600 * SECOND
    assert [store.take("k", limit, later, 1).allowed for _ in range(3)] == [True, True, False]


def test_retry_after_counts_whole_seconds_up(store: BucketStore) -> None:
    limit = RateLimit(per_second=0.1, burst=1)
    assert store.take("slow", limit, 0, 1).allowed
    refused = store.take("slow", limit, 2_500, 1)
    assert (refused.allowed, refused.retry_after_seconds) == (False, 8)


def test_asking_with_cost_zero_takes_nothing(store: BucketStore) -> None:
    limit = RateLimit(per_second=1, burst=1)
    assert all(store.take("ask", limit, 0, 0).allowed for _ in range(5))
    assert store.take("ask", limit, 0, 1).allowed
    assert not store.take("ask", limit, 0, 0).allowed


def test_buckets_of_different_keys_are_independent(store: BucketStore) -> None:
    limit = RateLimit(per_second=1, burst=1)
    assert store.take("a", limit, 0, 1).allowed
    assert not store.take("a", limit, 0, 1).allowed
    assert store.take("b", limit, 0, 1).allowed


def test_the_limiter_raises_rate_limited_with_the_retry_delay(store: BucketStore) -> None:
    now = [0]
    limiter = RateLimiter(
        store, {"uploads": RateLimit(per_second=0.5, burst=1)}, clock=lambda: now[0]
    )
    limiter.require("uploads", "participant:p", "uploads")
    with pytest.raises(RateLimited, match="too many uploads") as refused:
        limiter.require("uploads", "participant:p", "uploads")
    assert refused.value.status == 429
    assert refused.value.retry_after_seconds == 2
    now[0] = 2 * SECOND
    limiter.require("uploads", "participant:p", "uploads")


def test_a_disabled_limiter_allows_everything(store: BucketStore) -> None:
    limiter = RateLimiter(store, {"x": RateLimit(per_second=1, burst=1)}, enabled=False)
    assert all(limiter.take("x", "s").allowed for _ in range(10))


@pytest.mark.redis
def test_api_workers_sharing_redis_share_one_allowance(redis_client) -> None:  # type: ignore[no-untyped-def]
    """Why several workers need Redis: separate in-process stores would each allow the burst."""
    client, prefix = redis_client
    limit = RateLimit(per_second=1, burst=2)
    worker_a, worker_b = RedisBuckets(client, prefix), RedisBuckets(client, prefix)
    assert worker_a.take("k", limit, 0, 1).allowed
    assert worker_b.take("k", limit, 0, 1).allowed
    assert not worker_a.take("k", limit, 0, 1).allowed
    assert client.pttl(f"{prefix}:ratelimit:k") > 0  # idle buckets expire by themselves
