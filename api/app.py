"""The FastAPI application."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.problems import install_problem_handlers
from api.routers import anonymization, buyers, operators, participants, sellers
from market.service import Market
from market.settings import Settings, get_settings

log = logging.getLogger("datamarket.api")
TICK_SECONDS = 1.0


def _tick_auctions(market: Market, stop: threading.Event) -> None:
    """Advance the engine clock each second while any instrument has timed call auctions."""
    while not stop.wait(TICK_SECONDS):
        if market.trading.has_timed_auctions():
            try:
                market.tick()
            except Exception:
                log.exception("the auction clock failed to tick; retrying next second")


def create_app(settings: Settings | None = None, market: Market | None = None) -> FastAPI:
    """Build the API around a market (built from settings when not given)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = market is None
        app.state.market = market or Market(settings or get_settings())
        stop = threading.Event()
        ticker = threading.Thread(
            target=_tick_auctions, args=(app.state.market, stop), name="auction-clock", daemon=True
        )
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join(timeout=5)
            if owned:
                app.state.market.close()

    app = FastAPI(
        title="Data market (データ取引市場)",
        version="0.1.0",
        description="Sell, bid for and license data; personal data only as consented or as 匿名加工情報.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    for router in (
        participants.router,
        sellers.router,
        anonymization.router,
        buyers.router,
        operators.router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
