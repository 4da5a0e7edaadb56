"""GET /listings serializes its page itself: the same bytes and headers that FastAPI's own path
(validation against `response_model`, then serialization) gives for the same page."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from sqlmodel import Session
from starlette.testclient import TestClient

from api.app import create_app
from api.paging import paginated
from api.routers.catalog import ListingEntry
from market import db
from market.catalog import CatalogDesk, ListingFilter
from market.catalog.metadata import ListingMetadata
from market.models import Dataset, Participant
from market.participants import register_participant
from market.settings import Settings
from market.storage import open_store
from tests.integration.test_catalog_search import seed

# Floats that Python's repr and other formatters write differently, and an int where the model
# wants a float (validation makes it 100.0).
QUALITY = {
    "score": 83,
    "exact": 83.4,
    "method": "dm-quality-1",
    "rows": 10,
    "columns": 2,
    "measured_at": "2026-11-01T09:30:00+00:00",
    "components": [
        {
            "name": name,
            "status": "measured" if score is not None else "not_measured",
            "score": score,
            "weight": 20,
            "effective_weight": weight,
            "formula": "1 − missing / cells",
            "explanation": "欠損 0.1%",
            "details": {"missing": 1},
        }
        for name, score, weight in (
            ("completeness", 83.33333333333333, 0.3),
            ("validity", 100, 1e-05),
            ("uniqueness", 1e16, 0.1),
            ("privacy", None, 0.0),
        )
    ],
}
METADATA = {
    "description": 'Traffic "counts"\n on Tokyo roads \\ 東京',
    "columns": [{"name": "a", "semantic_tag": "measure.vehicles", "unit": "台/時"}],
    "coverage": {"period_start": "2025-01-01", "period_end": "2025-12-31", "geography": ["JP-13"]},
    "update_frequency": "daily",
    "licence": {"template": "dm-research-1.0", "custom_terms": ["Cite the market"]},
}
HEADERS = ("content-type", "content-length", "link", "x-next-cursor")


@pytest.fixture
def market_db(settings: Settings) -> Iterator[tuple[CatalogDesk, Participant, str]]:
    """The seeded catalog, one listing with a quality breakdown and metadata; a buyer and key."""
    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.migrate(engine)
        seed(engine)
        desk = CatalogDesk(engine, open_store(settings))
        with db.unit_of_work(engine) as session:
            dataset = session.get(Dataset, "dataset00")
            assert dataset is not None
            dataset.quality = QUALITY
            seller = session.get(Participant, dataset.seller_id)
            buyer, key = register_participant(session=session, name="Page buyer", kind="business")
        assert seller is not None
        metadata = ListingMetadata.model_validate(METADATA)
        desk.set_metadata(seller=seller, dataset_id="dataset00", metadata=metadata)
        with Session(engine) as session:
            viewer = session.get(Participant, buyer.id)
        assert viewer is not None
        yield desk, viewer, key
    finally:
        engine.dispose()


def validated_path(desk: CatalogDesk, viewer: Participant) -> FastAPI:
    """GET /listings as it was: items returned for FastAPI to validate and serialize."""
    app = FastAPI()

    @app.get("/listings", response_model=list[ListingEntry])
    def listings(
        request: Request,
        response: Response,
        q: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        page = desk.listings(viewer=viewer, where=ListingFilter(q=q), cursor=cursor, limit=limit)
        return paginated(request, response, page)

    return app


def test_listing_pages_are_the_bytes_the_validated_path_gave(
    market_db: tuple[CatalogDesk, Participant, str], settings: Settings
) -> None:
    desk, viewer, key = market_db
    auth = {"Authorization": f"Bearer {key}"}
    with (
        TestClient(create_app(settings)) as served,
        TestClient(validated_path(desk, viewer)) as reference,
    ):
        requests: list[dict[str, Any]] = [{}, {"limit": 4}, {"q": "東京"}, {"q": "no-such"}]
        first = served.get("/listings", params={"limit": 4}, headers=auth)
        cursor = first.headers.get("x-next-cursor")
        assert cursor is not None
        requests.append({"limit": 4, "cursor": cursor})
        for params in requests:
            got = served.get("/listings", params=params, headers=auth)
            want = reference.get("/listings", params=params)
            assert (got.status_code, want.status_code) == (200, 200)
            assert got.content == want.content, params
            assert [got.headers.get(name) for name in HEADERS] == [
                want.headers.get(name) for name in HEADERS
            ], params
        whole = served.get("/listings", headers=auth)
    # The page holds the quality breakdown and the metadata the comparison is about.
    assert b'"score":83.33333333333333' in whole.content
    assert b'"period_start":"2025-01-01"' in whole.content


def test_the_openapi_document_keeps_the_listing_model(settings: Settings) -> None:
    document = create_app(settings).openapi()
    ok = document["paths"]["/listings"]["get"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert schema["items"] == {"$ref": "#/components/schemas/ListingEntry"}
