"""Rate limits over HTTP: per-route dependencies and the authentication-failure guard.

The rule and the stores live in market/ratelimit.py; this module decides whom a request counts
against. Registration and authentication failures count per client address (there is no
participant yet, or the caller is not who it claims); order entry and uploads count per
participant and per address, so that many accounts from one address share one allowance.
"""

from typing import Annotated, Any

import redis
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import BearerCredentials, CurrentParticipant, authenticate, market_of
from api.problems import problem
from market.models import Participant
from market.ratelimit import InProcessBuckets, RateLimiter, RedisBuckets
from market.settings import Settings


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis buckets when Redis is configured (required with several API workers), else in-process."""
    store = (
        RedisBuckets(redis.Redis.from_url(settings.redis_url), settings.redis_prefix)
        if settings.redis_url
        else InProcessBuckets()
    )
    limits = {
        "registration": settings.rate_limit_registration,
        "auth_failures": settings.rate_limit_auth_failures,
        "order_entry": settings.rate_limit_order_entry,
        "uploads": settings.rate_limit_uploads,
    }
    return RateLimiter(store, limits, enabled=settings.rate_limits_enabled)


def client_address(scope: Scope) -> str:
    """The peer's address (a trusted proxy's X-Forwarded-For is applied by the server first)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def _limit_registration(request: Request) -> None:
    _limiter(request).require(
        "registration",
        f"address:{client_address(request.scope)}",
        "registrations from your address",
    )


async def _order_entrant(request: Request, credentials: BearerCredentials) -> Participant:
    """The caller of an order-entry route, authenticated, then counted against the order-entry
    limit (per participant and per address).

    One dependency node, not a route dependency beside `MarketDep` and `CurrentParticipant`:
    FastAPI resolves every node of a route's dependency tree on every request, cached or not.
    Those made nine nodes, 165–186 µs a request in process against 84–138 µs for this one
    (docs/benchmarks.md).
    """
    participant = await authenticate(market_of(request), credentials)
    await _limit_order_entry(request, participant)
    return participant


async def _limit_order_entry(request: Request, participant: Participant) -> None:
    """Async: order entry is the hot path, and an in-process decision needs no threadpool hop
    (a Redis store's round trips go to the threadpool)."""
    limiter = _limiter(request)
    if limiter.in_memory:
        _take_order_entry(limiter, participant, request.scope)
    else:
        await run_in_threadpool(_take_order_entry, limiter, participant, request.scope)


def _take_order_entry(limiter: RateLimiter, participant: Participant, scope: Scope) -> None:
    limiter.require("order_entry", f"participant:{participant.id}", "orders and cancels")
    limiter.require("order_entry", f"address:{client_address(scope)}", "orders from your address")


def _limit_uploads(request: Request, participant: CurrentParticipant) -> None:
    limiter = _limiter(request)
    limiter.require("uploads", f"participant:{participant.id}", "uploads")
    limiter.require(
        "uploads", f"address:{client_address(request.scope)}", "uploads from your address"
    )


# For route decorators: `dependencies=[UPLOAD_LIMIT]`.
REGISTRATION_LIMIT: Any = Depends(_limit_registration)
UPLOAD_LIMIT: Any = Depends(_limit_uploads)
# For order-entry routes, in place of `CurrentParticipant`: the caller, authenticated and counted.
OrderEntrant = Annotated[Participant, Depends(_order_entrant)]


class AuthFailureGuard:
    """Count 401 answers per client address; refuse every credentialed request (one with an
    Authorization header, or to a password sign-in route) from it once over the limit.

    The refusal comes before the key is checked, so a guesser learns nothing more, even with a
    right guess, until the bucket refills; the cost is that other callers at the same address
    wait too, which docs/security.md accepts.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        sign_in_routes: frozenset[tuple[str, str]] = frozenset(),
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.sign_in_routes = sign_in_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (
            _has_credentials(scope) or (scope["method"], scope["path"]) in self.sign_in_routes
        ):
            await self.app(scope, receive, send)
            return
        address = f"address:{client_address(scope)}"
        decision = self.limiter.take("auth_failures", address, cost=0)
        if not decision.allowed:
            response = problem(
                429,
                "Too many requests",
                "too many requests with a wrong API key or password came from your address; "
                f"retry in {decision.retry_after_seconds} s",
                instance=scope["path"],
            )
            response.headers["Retry-After"] = str(decision.retry_after_seconds)
            await response(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.take("auth_failures", address)
            await send(message)

        await self.app(scope, receive, counting_send)


def _has_credentials(scope: Scope) -> bool:
    return any(name == b"authorization" for name, _ in scope["headers"])
