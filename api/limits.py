"""Request-body limits, as ASGI middleware: refuse on Content-Length, count while reading, time out.

Without them one client could hold a connection forever by promising a large body and sending a
few bytes, or make the server spool a 400 MiB upload to disk before the route's own size check
ran (docs/security.md). The limit is per route: uploads get the upload cap plus room for the
multipart envelope, every other request a small JSON-sized cap.
"""

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

# Room for the multipart boundaries and the form fields sent beside an uploaded file.
FORM_OVERHEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """How much body a request may carry and how long it may take to arrive."""

    default_max_bytes: int
    route_max_bytes: Mapping[tuple[str, str], int]
    idle_timeout_seconds: float
    total_timeout_seconds: float

    def max_bytes(self, method: str, path: str) -> int:
        return self.route_max_bytes.get((method, path), self.default_max_bytes)


class _BodyRefused(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class BodyLimitMiddleware:
    """Refuse or cut off request bodies over the route's limit, and bodies that stall."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit = self.limits.max_bytes(method, path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, _too_large(method, path, limit, declared))
            return

        received = 0
        body_complete = False
        started = time.monotonic()
        refusal: _BodyRefused | None = None
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete, refusal
            if body_complete or refusal is not None:
                # After the body, receive() only waits for a disconnect: no deadline applies.
                return await receive()
            remaining = self.limits.total_timeout_seconds - (time.monotonic() - started)
            try:
                # A deadline on the running task (no second task, unlike `asyncio.wait_for`):
                # every request's body passes here.
                async with asyncio.timeout(
                    max(0.0, min(self.limits.idle_timeout_seconds, remaining))
                ):
                    message = await receive()
            except TimeoutError:
                refusal = _too_slow(self.limits)
                raise refusal from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_complete = not message.get("more_body", False)
                if received > limit:
                    refusal = _too_large(method, path, limit, None)
                    raise refusal
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refusal is not None and not response_started:
                # The route turned our refusal into its own error (FastAPI answers 400 to any
                # failure while reading a body): answer with the real reason instead.
                if message["type"] == "http.response.start":
                    response_started = True
                    await _refuse(scope, receive, send, refusal)
                return
            if refusal is not None:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyRefused as exc:
            if response_started:
                raise
            await _refuse(scope, receive, send, exc)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _too_large(method: str, path: str, limit: int, declared: int | None) -> _BodyRefused:
    size = f"{declared:,} bytes" if declared is not None else "more than that"
    return _BodyRefused(
        413,
        "Content too large",
        f"{method} {path} accepts at most {limit:,} bytes of request body and this request "
        f"carries {size}; send a smaller body (split large files into parts)",
    )


def _too_slow(limits: BodyLimits) -> _BodyRefused:
    return _BodyRefused(
        408,
        "Request timeout",
        f"the request body stopped arriving (nothing for {limits.idle_timeout_seconds:g} s, or "
        f"not complete within {limits.total_timeout_seconds:g} s); send it again",
    )


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: _BodyRefused) -> None:
    response = problem(refusal.status, refusal.title, refusal.detail, instance=scope["path"])
    # The unread rest of the body makes the connection unusable for another request.
    response.headers["Connection"] = "close"
    await response(scope, receive, send)
