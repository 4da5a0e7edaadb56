"""GET /listings serializes its page itself, without validating it: the same bytes and headers
that FastAPI's own path (validation against `response_model`, then serialization) gives for the
same page, and each view what the model makes of the stored listing."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from pydantic_core import to_json
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from api.app import create_app
from api.paging import paginated
from api.routers.catalog import ListingEntry
from market import db
from market.catalog import CatalogDesk, ListingFilter
from market.catalog.metadata import LICENCE_TEMPLATES, ListingMetadata
from market.catalog.tables import CatalogEntry
from market.models import Dataset, Listing, Participant
from market.participants import public_name, register_participant
from market.settings import Settings
from market.storage import open_store
from tests.integration.test_catalog_search import CORPUS, seed

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
OFFER = {
    "licence_count": 5,
    "licences_sold": 2,
    "allowed_purposes": ["research", "marketing"],
    "allowed_recipients": ["category:bank"],
    "denied_recipients": ["rival"],
    "term_days": 30,
    "exclusive": True,
    "price_includes_tax": True,
    "linkable": True,
    "covers": "history",
    "status_reason": "limited offer",
}


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
            assert seller is not None
            seller.verification = "verified"
            # Every field of the offer set apart from its default, so a view that read one
            # column for another would show it.
            listing = session.get(Listing, "listing00")
            assert listing is not None
            for name, value in OFFER.items():
                setattr(listing, name, value)
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


def stored_view(session: Session, listing_id: str, viewer_id: str) -> dict[str, Any]:
    """A listing as GET /listings showed it before its views were built JSON-ready (issue 13):
    read by name from the stored objects, for the model to validate."""
    listing = session.get(Listing, listing_id)
    assert listing is not None
    dataset = session.get(Dataset, listing.dataset_id)
    seller = session.get(Participant, listing.seller_id)
    assert dataset is not None and seller is not None
    entry = session.exec(
        select(CatalogEntry).where(col(CatalogEntry.dataset_id) == dataset.id)
    ).first()
    details = (entry.details if entry is not None else None) or {}
    coverage = details.get("coverage") or {}
    terms = details.get("licence") or {}
    own = viewer_id == listing.seller_id
    return {
        "id": listing.id,
        "dataset_id": dataset.id,
        "instrument": listing.instrument,
        "seller_kind": seller.kind,
        "seller_display_name": public_name(seller),
        "seller": {
            "kind": seller.kind,
            "display_name": public_name(seller),
            "verified": seller.verification == "verified",
        },
        "price_yen": listing.price_yen,
        "price_includes_tax": listing.price_includes_tax,
        "licence_count": listing.licence_count,
        "licences_sold": listing.licences_sold,
        "allowed_purposes": listing.allowed_purposes,
        "term_days": listing.term_days,
        "exclusive": listing.exclusive,
        "linkable": listing.linkable,
        "covers": listing.covers,
        "status": listing.status,
        "status_reason": listing.status_reason,
        "created_at": listing.created_at,
        "title": dataset.title,
        "description": dataset.description,
        "data_class": dataset.data_class,
        "columns": dataset.columns,
        "tags": dataset.tags,
        "row_count": dataset.row_count,
        "quality_score": dataset.quality_score,
        "quality": dataset.quality,
        "privacy_k": dataset.privacy_k,
        "update_frequency": entry.update_frequency if entry is not None else None,
        "coverage": {
            "period_start": coverage.get("period_start"),
            "period_end": coverage.get("period_end"),
            "geography": coverage.get("geography", []),
        },
        "licence": {
            "template": terms.get("template", "dm-standard-1.0"),
            "template_summary": LICENCE_TEMPLATES[terms.get("template", "dm-standard-1.0")],
            "purposes": listing.allowed_purposes,
            "term_days": listing.term_days,
            "exclusive": listing.exclusive,
            "redistribution": "forbidden",
            "custom_terms": terms.get("custom_terms", []),
        },
        "announcement": (
            f"/announcements/{dataset.id}" if dataset.data_class == "anonymized" else None
        ),
        "allowed_recipients": listing.allowed_recipients if own else None,
        "denied_recipients": listing.denied_recipients if own else None,
    }


def test_each_view_is_what_the_model_makes_of_the_stored_listing(
    market_db: tuple[CatalogDesk, Participant, str],
) -> None:
    desk, buyer, _ = market_db
    with Session(desk.engine) as session:
        dataset = session.get(Dataset, "dataset00")
        assert dataset is not None
        seller = session.get(Participant, dataset.seller_id)
        assert seller is not None
        for viewer in (buyer, seller):
            page = desk.listings(viewer=viewer, where=ListingFilter(status=None), limit=200)
            assert len(page.items) == len(CORPUS)
            for view in page.items:
                stored = stored_view(session, view["id"], viewer.id)
                want = ListingEntry.model_validate(stored)
                assert to_json(view, inf_nan_mode="null") == want.model_dump_json().encode()
                assert view == want.model_dump()
    # The seller sees the recipients it set; the page holds the offer the comparison is about.
    own = next(view for view in page.items if view["id"] == "listing00")
    assert own["allowed_recipients"] == ["category:bank"]
    assert (own["covers"], own["status_reason"], own["seller"]["verified"]) == (
        "history",
        "limited offer",
        True,
    )


def test_a_new_score_and_new_metadata_show_at_once(
    market_db: tuple[CatalogDesk, Participant, str],
) -> None:
    desk, buyer, _ = market_db

    def shown() -> dict[str, Any]:
        return next(
            view
            for view in desk.listings(viewer=buyer, where=ListingFilter(), limit=200).items
            if view["id"] == "listing00"
        )

    before = shown()
    with db.unit_of_work(desk.engine) as session:
        dataset = session.get(Dataset, "dataset00")
        assert dataset is not None
        dataset.quality = QUALITY | {"score": 91}
        seller = session.get(Participant, dataset.seller_id)
    assert seller is not None
    metadata = ListingMetadata.model_validate(METADATA | {"coverage": {"geography": ["JP-27"]}})
    desk.set_metadata(seller=seller, dataset_id="dataset00", metadata=metadata)
    after = shown()
    assert (before["quality"]["score"], after["quality"]["score"]) == (83, 91)
    assert (before["coverage"]["geography"], after["coverage"]["geography"]) == (
        ["JP-13"],
        ["JP-27"],
    )


def test_the_openapi_document_keeps_the_listing_model(settings: Settings) -> None:
    document = create_app(settings).openapi()
    ok = document["paths"]["/listings"]["get"]["responses"]["200"]
    schema = ok["content"]["application/json"]["schema"]
    assert schema["type"] == "array"
    assert schema["items"] == {"$ref": "#/components/schemas/ListingEntry"}
