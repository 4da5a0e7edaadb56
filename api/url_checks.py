"""Refuse a URL carrying a control character (or a path segment no id could fill), as ASGI
middleware, before any route runs.

No id or path segment holds a control character, and no filter, cursor or search text holds a
NUL (`%00`), which PostgreSQL cannot take in any text parameter: such a URL would otherwise
reach the database and fail there as a crash, or have its bytes echoed back in a "not found"
(docs/security.md). A query value may hold other control characters (a tab in search text
separates terms).
"""

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem

CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
PATH_DETAIL = (
    "the URL path holds a control character (such as %00 or %1B); no id or path segment "
    "contains one: remove it and send the request again"
)
QUERY_DETAIL = (
    "the URL query holds a NUL character (%00); no filter, cursor or search text contains one: "
    "remove it and send the request again"
)


# No id, token or name in a path is longer (ids are 32 characters, download tokens under 100).
MAX_SEGMENT = 256
LONG_DETAIL = (
    f"the URL path holds a segment longer than {MAX_SEGMENT} characters; no id, token or name "
    "is that long, so there is nothing at this path"
)


class ControlCharacterGuard:
    """Answer 422 to a request whose path holds a control character or whose query a NUL."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            detail = _refusal(scope)
            if detail is not None:
                instance = CONTROL_CHARACTER.sub("", scope["path"])
                response = problem(422, "Invalid request", detail, instance=instance)
                await response(scope, receive, send)
                return
            if any(len(segment) > MAX_SEGMENT for segment in scope["path"].split("/")):
                # Answered here so a "not found" never echoes a megabyte of path back.
                response = problem(404, "Not found", LONG_DETAIL)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(scope: Scope) -> str | None:
    """Why the URL is refused, or None (the path arrives decoded, the query string raw)."""
    if CONTROL_CHARACTER.search(scope["path"]):
        return PATH_DETAIL
    if b"%00" in scope.get("query_string", b""):
        return QUERY_DETAIL
    return None
