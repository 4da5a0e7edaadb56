"""The protections every request passes through (docs/security.md), installed in one place.

Outermost first: the crash barrier (a value-free log line and a 500 problem), security headers,
CORS when origins are configured, the authentication-failure guard, the request-body limits, the
refusal of control characters in the URL.
"""

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.limits import FORM_OVERHEAD_BYTES, BodyLimitMiddleware, BodyLimits
from api.problems import CrashBarrier
from api.ratelimit import AuthFailureGuard, build_rate_limiter
from api.security_headers import SecurityHeadersMiddleware
from api.swagger import install_docs
from api.url_checks import ControlCharacterGuard
from market.settings import Settings

# Routes that take a file or a bulk import, with room for the form envelope above the file cap.
UPLOAD_ROUTES = (
    ("POST", "/datasets"),
    ("POST", "/me/records/import"),
    ("POST", "/me/records/import-csv"),
)
# Routes that check a password sent in the body: their failures count like wrong API keys.
SIGN_IN_ROUTES = frozenset({("POST", "/sessions")})


def install_protections(app: FastAPI, settings: Settings) -> None:
    """Add the middleware stack, the rate limiter (app.state.rate_limiter) and the local /docs."""
    app.state.rate_limiter = build_rate_limiter(settings)
    upload_max = settings.max_upload_bytes + FORM_OVERHEAD_BYTES
    limits = BodyLimits(
        default_max_bytes=settings.max_request_bytes,
        route_max_bytes=dict.fromkeys(UPLOAD_ROUTES, upload_max),
        idle_timeout_seconds=settings.request_body_idle_timeout_seconds,
        total_timeout_seconds=settings.request_body_timeout_seconds,
    )
    # Starlette wraps each added middleware around the previous ones: add innermost first.
    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(BodyLimitMiddleware, limits=limits)
    app.add_middleware(
        AuthFailureGuard, limiter=app.state.rate_limiter, sign_in_routes=SIGN_IN_ROUTES
    )
    if settings.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["Retry-After", "Location", "X-Data-Class", "X-Formula-Cells"],
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(CrashBarrier)
    install_docs(app)
