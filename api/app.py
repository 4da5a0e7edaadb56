"""The FastAPI application."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.problems import install_problem_handlers
from api.routers import buyers, operators, participants, sellers
from market.service import Market
from market.settings import Settings, get_settings


def create_app(settings: Settings | None = None, market: Market | None = None) -> FastAPI:
    """Build the API around a market (built from settings when not given)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = market is None
        app.state.market = market or Market(settings or get_settings())
        try:
            yield
        finally:
            if owned:
                app.state.market.close()

    app = FastAPI(
        title="Data market (データ取引市場)",
        version="0.1.0",
        description="Sell, bid for and license data; personal data only as consented or as 匿名加工情報.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    for router in (participants.router, sellers.router, buyers.router, operators.router):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
