"""List endpoints: cursor pagination (RFC 8288 `Link: rel="next"`) and refusal of unknown filters."""

from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.dependencies.models import Dependant

from market.errors import InvalidRequest
from market.paging import MAX_LIMIT, Page

Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=500,
        pattern=r"^[A-Za-z0-9_-]+$",
        description='Opaque cursor from the previous page\'s `Link: rel="next"` header',
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")]


def paginated(request: Request, response: Response, page: Page[Any]) -> list[Any]:
    """The page's items; the next page's URL goes into `Link` and its cursor into `X-Next-Cursor`."""
    if page.next_cursor is not None:
        url = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
        response.headers["X-Next-Cursor"] = page.next_cursor
    return page.items


class UnknownQueryParameter(InvalidRequest):
    title = "Unknown query parameter"


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    """Refuse a query parameter the endpoint does not take: a mistyped filter must not be ignored.

    Async (no I/O): every request runs it, and a sync dependency costs a threadpool hop."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _query_names(dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no query parameters"
        raise UnknownQueryParameter(
            f"unknown query parameter {', '.join(repr(name[:40]) for name in unknown)}; "
            f"this endpoint takes: {takes}"
        )
