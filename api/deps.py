"""Typed dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from market.errors import Forbidden
from market.models import Participant
from market.participants import InvalidApiKey
from market.service import Market

_bearer = HTTPBearer(auto_error=False, description="API key: dm_<id>_<secret>")


async def get_market(request: Request) -> Market:
    market: Market = request.app.state.market
    return market


MarketDep = Annotated[Market, Depends(get_market)]


def market_of(request: Request) -> Market:
    """The market, without a dependency node (for the order-entry routes, where each node of
    FastAPI's dependency tree costs every request its resolution)."""
    market: Market = request.app.state.market
    return market


BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_participant(market: MarketDep, credentials: BearerCredentials) -> Participant:
    """The caller (see `authenticate`)."""
    return await authenticate(market, credentials)


async def authenticate(
    market: Market, credentials: HTTPAuthorizationCredentials | None
) -> Participant:
    """The participant whose API key the request carries. Async, so a key verified recently
    costs no threadpool hop: verified keys are kept for a few seconds (market/auth_cache.py;
    revocation evicts them) and only a key not in memory is checked against the database, in
    the threadpool."""
    if credentials is None:
        raise InvalidApiKey("send your API key as 'Authorization: Bearer dm_<id>_<secret>'")
    known = market.key_cache.cached(credentials.credentials)
    if known is not None:
        return known
    return await run_in_threadpool(
        market.key_cache.authenticate, credentials.credentials, market.accounts.authenticate
    )


CurrentParticipant = Annotated[Participant, Depends(current_participant)]


async def operator_user(participant: CurrentParticipant) -> Participant:
    if participant.kind != "operator":
        raise Forbidden("this endpoint is for market operators")
    return participant


OperatorUser = Annotated[Participant, Depends(operator_user)]
