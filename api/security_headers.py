"""Security headers on every response, as ASGI middleware.

Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, framing
refused, and a Content-Security-Policy: the strict page policy on HTML (scripts only from this
origin, so an injected inline script never runs; inline styles stay allowed for the
server-rendered notice pages) and `default-src 'none'` on everything else. Responses to requests
that carry credentials get `Cache-Control: no-store`, so no shared or browser cache keeps a
participant's data. HSTS is sent when the request arrived over HTTPS.
"""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTML_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credentialed = any(name in (b"authorization", b"cookie") for name, _ in scope["headers"])
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                is_html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy", HTML_POLICY if is_html else API_POLICY
                )
                if credentialed:
                    headers["Cache-Control"] = "no-store"
                if secure:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
