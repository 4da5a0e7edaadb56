"""Rate limits as token buckets: the rule, an in-process store and a Redis store.

A bucket holds up to `burst` tokens and refills at `per_second`; each counted action takes one
token, and an empty bucket refuses until the next token is due. Buckets are keyed by action and
subject (a participant id or a client address). The in-process store serves one API process;
several processes must share Redis (`DATAMARKET_REDIS_URL`), or each would keep its own count
and a client could multiply its allowance by the number of workers.

The rule is written twice, in Python and in Lua (so that Redis applies it atomically); one
contract test runs against both stores (tests/integration/test_ratelimit.py).
"""

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis
from pydantic import BaseModel, Field

from market.errors import MarketError

Clock = Callable[[], int]


class RateLimit(BaseModel):
    """A token bucket's size and refill rate."""

    model_config = {"frozen": True}

    per_second: float = Field(gt=0)
    burst: int = Field(ge=1)


@dataclass(frozen=True)
class Decision:
    """Whether an action may go ahead now and, if not, after how many whole seconds to retry."""

    allowed: bool
    retry_after_seconds: int
    remaining: int


class RateLimited(MarketError):
    status = 429
    title = "Too many requests"

    def __init__(self, reason: str, retry_after_seconds: int) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


def refill_and_take(
    tokens: float, updated_ms: int, now_ms: int, limit: RateLimit, cost: int
) -> tuple[Decision, float]:
    """Refill a bucket to `now_ms` and take `cost` tokens if it holds at least max(cost, 1).

    `cost=0` asks without taking: whether one more action would be allowed now.
    """
    elapsed = max(0, now_ms - updated_ms)
    tokens = min(float(limit.burst), tokens + elapsed * limit.per_second / 1000)
    needed = max(cost, 1)
    if tokens >= needed:
        tokens -= cost
        return Decision(True, 0, math.floor(tokens)), tokens
    wait_ms = math.ceil((needed - tokens) * 1000 / limit.per_second)
    return Decision(False, max(1, math.ceil(wait_ms / 1000)), 0), tokens


def epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class BucketStore(Protocol):
    def take(self, key: str, limit: RateLimit, now_ms: int, cost: int) -> Decision: ...


class InProcessBuckets:
    """Buckets in a dictionary, for a single API process."""

    PRUNE_AT = 100_000

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: RateLimit, now_ms: int, cost: int) -> Decision:
        with self._lock:
            tokens, updated = self._buckets.get(key, (float(limit.burst), now_ms))
            decision, tokens = refill_and_take(tokens, updated, now_ms, limit, cost)
            if cost:
                self._buckets[key] = (tokens, now_ms)
                if len(self._buckets) > self.PRUNE_AT:
                    self._prune(now_ms)
            return decision

    def _prune(self, now_ms: int) -> None:
        # A bucket idle for an hour has refilled under any sensible limit; forgetting it is exact.
        stale = [k for k, (_, updated) in self._buckets.items() if now_ms - updated > 3_600_000]
        for key in stale:
            del self._buckets[key]


# KEYS[1] bucket; ARGV: per_second, burst, now_ms, cost. Returns {allowed, retry_ms, remaining}.
_TAKE_LUA = """
local per_second = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
local elapsed = math.max(0, now - updated)
tokens = math.min(burst, tokens + elapsed * per_second / 1000)
local needed = math.max(cost, 1)
local allowed = 0
local retry_ms = 0
if tokens >= needed then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((needed - tokens) * 1000 / per_second)
end
if cost > 0 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'updated', now)
  redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / per_second) + 1000)
end
return {allowed, retry_ms, math.floor(tokens)}
"""


class RedisBuckets:
    """Buckets in Redis hashes, shared by every API process; each take is one atomic script."""

    def __init__(self, client: "redis.Redis", prefix: str) -> None:
        self._script = client.register_script(_TAKE_LUA)
        self._prefix = prefix

    def take(self, key: str, limit: RateLimit, now_ms: int, cost: int) -> Decision:
        allowed, retry_ms, remaining = self._script(
            keys=[f"{self._prefix}:ratelimit:{key}"],
            args=[repr(limit.per_second), limit.burst, now_ms, cost],
        )
        if allowed:
            return Decision(True, 0, int(remaining))
        return Decision(False, max(1, math.ceil(int(retry_ms) / 1000)), 0)


class RateLimiter:
    """Named limits over one bucket store; `enabled=False` allows everything (benchmarks)."""

    def __init__(
        self,
        store: BucketStore,
        limits: Mapping[str, RateLimit],
        *,
        enabled: bool = True,
        clock: Clock = epoch_ms,
    ) -> None:
        self.store = store
        self.limits = dict(limits)
        self.enabled = enabled
        self.clock = clock

    @property
    def in_memory(self) -> bool:
        """Whether a decision needs no I/O (limits off, or the in-process store), so an async
        caller may take it on the event loop."""
        return not self.enabled or isinstance(self.store, InProcessBuckets)

    def take(self, action: str, subject: str, cost: int = 1) -> Decision:
        """Count one `action` by `subject` (cost 0 only asks)."""
        if not self.enabled:
            return Decision(True, 0, self.limits[action].burst)
        return self.store.take(f"{action}:{subject}", self.limits[action], self.clock(), cost)

    def require(self, action: str, subject: str, what: str, cost: int = 1) -> None:
        """Count one `action`; raise RateLimited, saying what was limited, when the bucket is empty."""
        decision = self.take(action, subject, cost)
        if not decision.allowed:
            limit = self.limits[action]
            raise RateLimited(
                f"too many {what}: the limit is {_rate(limit)} with bursts of {limit.burst}; "
                f"retry in {decision.retry_after_seconds} s",
                decision.retry_after_seconds,
            )


def _rate(limit: RateLimit) -> str:
    if limit.per_second >= 1:
        return f"{limit.per_second:g} a second"
    return f"{limit.per_second * 60:g} a minute"
