"""Security headers, CORS and the self-hosted API docs over real HTTP (issue 9, item 7)."""

import re

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from market.settings import Settings
from tests.e2e.test_market_slice import auth, register


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def test_every_response_carries_the_security_headers(http: httpx.Client) -> None:
    key = register(http, "Header check")
    for response in (
        http.get("/health"),
        http.get("/me", headers=auth(key)),
        http.get("/no-such-page"),
        http.get("/me", headers=auth("dm_bad_key")),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_authenticated_responses_are_not_stored_by_caches(http: httpx.Client) -> None:
    key = register(http, "Cache check")
    assert http.get("/me", headers=auth(key)).headers["cache-control"] == "no-store"
    assert "no-store" not in http.get("/purposes").headers.get("cache-control", "")


def test_docs_load_without_any_other_origin_under_the_strict_policy(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy
    assert "<script>" not in page.text  # no inline script, which the policy would block
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        asset = http.get(source)
        assert asset.status_code == 200, source
    assert "SwaggerUIBundle" in http.get("/docs/assets/swagger-ui-bundle.js").text
    assert http.get("/docs/assets/..%2Fmain.py").status_code == 404


def test_cross_origin_requests_are_closed_by_default(http: httpx.Client) -> None:
    preflight = http.options(
        "/me",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = http.get("/purposes", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_configured_origins_may_call_the_api(settings: Settings) -> None:
    configured = settings.model_copy(update={"cors_allow_origins": ["https://portal.example"]})
    with TestClient(create_app(configured)) as client:
        allowed = client.options(
            "/me",
            headers={
                "Origin": "https://portal.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        refused = client.get("/purposes", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example"
    assert "access-control-allow-origin" not in refused.headers
