"""Order-entry routes resolve few dependency nodes, and still authenticate and rate-limit.

FastAPI resolves every node of a route's dependency tree on every request, cached or not; the
order-entry routes take the caller through one node (`OrderEntrant`) and its bearer scheme.
"""

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.routers.buyers import router as buyers
from api.routers.sellers import router as sellers

ORDER_ENTRY = {
    ("POST", "/bids"),
    ("DELETE", "/bids/{bid_id}"),
    ("PATCH", "/bids/{bid_id}"),
    ("POST", "/listings"),
    ("DELETE", "/listings/{listing_id}"),
    ("PATCH", "/listings/{listing_id}"),
}


def _nodes(dependant: Dependant) -> int:
    return sum(1 + _nodes(sub) for sub in dependant.dependencies)


def _names(dependant: Dependant) -> set[str]:
    found = set()
    for sub in dependant.dependencies:
        found.add(getattr(sub.call, "__name__", type(sub.call).__name__))
        found |= _names(sub)
    return found


def _routes() -> dict[tuple[str, str], APIRoute]:
    routes = {}
    for router in (buyers, sellers):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            for method in route.methods:
                routes[(method, route.path)] = route
    return routes


def test_order_entry_routes_resolve_the_caller_in_one_node_with_its_bearer_scheme() -> None:
    routes = _routes()
    assert routes.keys() >= ORDER_ENTRY
    for key in ORDER_ENTRY:
        dependant = routes[key].dependant
        names = _names(dependant)
        # Authentication and the order-entry limit, in one node above the bearer scheme.
        assert "_order_entrant" in names, key
        assert "HTTPBearer" in names, key
        assert "current_participant" not in names, key
    # The hot path: the caller's node and its bearer scheme, nothing else (the app adds its
    # unknown-query-parameter guard to every route when it includes the router).
    assert _nodes(routes[("POST", "/bids")].dependant) == 2
    assert _nodes(routes[("DELETE", "/bids/{bid_id}")].dependant) == 2
