"""The FastAPI application."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.openapi import install_openapi
from api.paging import reject_unknown_query_parameters
from api.problems import install_problem_handlers
from api.protections import install_protections
from api.routers import (
    anonymization,
    banks,
    buyers,
    catalog,
    individuals,
    operators,
    orders,
    participants,
    payments,
    ratings,
    sellers,
    webhooks,
)
from api.serving import tune_collector
from market.service import Market
from market.settings import Settings, get_settings

# Routes are matched in this order, one router after another: order entry first, since a request
# walks every route before its own (POST /bids walked four routers, about 150 µs). No path of one
# router is matched by a route of another, so the order changes nothing else
# (tests/unit/api/test_route_order.py).
ROUTERS = (
    orders.router,
    buyers.router,
    sellers.router,
    participants.router,
    anonymization.router,
    catalog.router,
    operators.router,
    individuals.router,
    banks.router,
    ratings.router,
    payments.router,
    webhooks.router,
)

log = logging.getLogger("datamarket.api")
TICK_SECONDS = 1.0


def _tick_auctions(market: Market, stop: threading.Event) -> None:
    """Each second: tick the engine clock when an auction or expiry is due, snapshot when due.

    Only ticks that change something are journaled: the engine says when it is next due.
    """
    while not stop.wait(TICK_SECONDS):
        # Only the error's type is logged: a database message can quote the row it failed on.
        try:
            market.orders.tick_if_due()
        except Exception as exc:
            log.error("the auction clock failed to tick (%s); retrying", type(exc).__name__)
        try:
            market.orders.snapshot_if_due()
        except Exception as exc:
            log.error("the engine snapshot failed (%s); retrying", type(exc).__name__)


def start_engine_duties(market: Market, stop: threading.Event) -> list[threading.Thread]:
    """The engine owner's background work: the auction clock and card payments.

    A worker process (DATAMARKET_ENGINE_ROLE=worker) has none: its owner does this.
    """
    if market.settings.engine_role == "worker":
        return []
    ticker = threading.Thread(
        target=_tick_auctions, args=(market, stop), name="auction-clock", daemon=True
    )
    ticker.start()
    payment_runner = payments.start_payment_runner(market, stop)
    return [ticker] if payment_runner is None else [ticker, payment_runner]


def create_worker_app() -> FastAPI:
    """The app of one API worker process of `datamarket serve --workers N` (uvicorn's factory):
    its settings come from the environment, and its collector is tuned for serving."""
    app = create_app()
    tune_collector()
    return app


def create_app(settings: Settings | None = None, market: Market | None = None) -> FastAPI:
    """Build the API around a market (built from settings when not given)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = market is None
        # The served market owns the engine; a second owner of the database refuses to start.
        app.state.market = (market or Market(settings or get_settings())).start()
        stop = threading.Event()
        duties = start_engine_duties(app.state.market, stop)
        try:
            yield
        finally:
            stop.set()
            for duty in duties:
                duty.join(timeout=5)
            if owned:
                app.state.market.close()

    app = FastAPI(
        title="Data market (データ取引市場)",
        version="0.1.0",
        description="Sell, bid for and license data; personal data only as consented or as 匿名加工情報.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    install_problem_handlers(app)
    install_protections(app, settings or (market.settings if market else get_settings()))
    for router in ROUTERS:
        app.include_router(router)

    # Async on purpose: a liveness probe must not wait for a threadpool busy with uploads.
    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    install_openapi(app)
    return app
