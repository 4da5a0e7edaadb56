"""RFC 9457 problem details for every 4xx and 5xx response.

Validation errors name the field and the rule, never the submitted value: request bodies can
carry personal data, which must not travel back into logs or error reports. For the same reason
a crash is logged as its type, its frames and (for database errors) the SQL statement with its
SQLSTATE, never the exception's message: a driver's message can quote the row that failed.
"""

import logging
import sys
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from market.errors import MarketError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("datamarket.api")


# What FastAPI answers when a JSON body cannot be decoded (its cause is chained to the error).
UNPARSED_BODY = "There was an error parsing the body"
CRASH_DETAIL = (
    "the market failed to handle this request; nothing was changed. Try again, "
    "and report the time of the failure to the operator if it persists"
)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def log_crash(method: str, path: str, exc: BaseException) -> None:
    """Log an unhandled error without any value it may carry (see the module docstring)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
    statement = ""
    if isinstance(exc, StatementError):
        original = exc.orig
        kind += f" from {type(original).__module__}.{type(original).__qualname__}"
        sqlstate = getattr(original, "sqlstate", None) if isinstance(exc, DBAPIError) else None
        statement = f"\nSQL (parameters withheld): {exc.statement}" + (
            f"\nSQLSTATE {sqlstate}" if sqlstate else ""
        )
    log.error(
        "unhandled error on %s %s: %s (message withheld)%s\n%s",
        method,
        path,
        kind,
        statement,
        frames,
    )


class CrashBarrier:
    """Turn an unhandled error into a 500 problem and a value-free log line.

    Starlette's own last-resort handler re-raises after answering, so the server logged the full
    exception message too; this barrier sits inside it and keeps the error from going further.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log_crash(scope["method"], scope["path"], exc)
            if response_started:
                return
            response = problem(500, "Internal error", CRASH_DETAIL, instance=scope["path"])
            await response(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors, HTTP errors and crashes to problem+json."""

    @app.exception_handler(MarketError)
    async def _domain(request: Request, exc: MarketError) -> JSONResponse:
        response = problem(exc.status, exc.title, exc.reason, instance=request.url.path)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        # Too many requests, or an Idempotency-Key whose first request is still being answered.
        retry_after = getattr(exc, "retry_after_seconds", None)
        if isinstance(retry_after, int):
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_error(err) for err in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 400 and detail == UNPARSED_BODY:
            detail = _unreadable_body(exc.__cause__)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no resource at {request.url.path}; see /docs for the API"
        response = problem(
            exc.status_code, _title(exc.status_code), detail, instance=request.url.path
        )
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110 wants every method of the resource in `Allow`; Starlette names only those
            # of the first route matching the path, and FastAPI makes one route per method.
            response.headers["Allow"] = ", ".join(_methods_at(request))
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log_crash(request.method, request.url.path, exc)
        return problem(500, "Internal error", CRASH_DETAIL, instance=request.url.path)


def _field_error(err: Any) -> dict[str, str]:
    """A validation error as `field` and `reason`; a body that is not JSON says where it breaks
    (the parser's message names what it expected there, never the text it found)."""
    if err.get("type") == "json_invalid":
        expected = (err.get("ctx") or {}).get("error", "invalid JSON")
        position = err["loc"][-1] if len(err["loc"]) > 1 else 0
        return {"field": "body", "reason": f"not valid JSON at character {position}: {expected}"}
    return {"field": ".".join(str(part) for part in err["loc"]), "reason": err["msg"]}


def _unreadable_body(cause: BaseException | None) -> str:
    """Why FastAPI could not read a JSON body (it answers only UNPARSED_BODY), told as a fix."""
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not UTF-8 text: send JSON encoded as UTF-8"
    if isinstance(cause, RecursionError):
        return "the body nests arrays or objects too deeply to be read"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        limit = sys.get_int_max_str_digits()
        return f"a number in the body has too many digits to be read (the limit is {limit})"
    return "the body could not be read as JSON: send a JSON object"


def _methods_at(request: Request) -> list[str]:
    """The methods some route answers at the request's path."""
    return [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
