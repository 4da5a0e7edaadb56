"""The app's routers can be included in any order: no route of one matches a path of another.

api/app.py includes the order-entry routers first, so a bid walks fewer routes before its own;
that is safe only while no path is claimed by two routers.
"""

import pkgutil
import re

from fastapi import APIRouter
from starlette.routing import Match

import api.routers
from api.app import ROUTERS as INCLUDED

ROUTERS = {router.routes[0].endpoint.__module__: router for router in INCLUDED}


def _scope(method: str, path: str) -> dict[str, object]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }


def _claimed_twice(routers: dict[str, APIRouter]) -> list[tuple[str, str, str, str]]:
    routes = [(name, route) for name, router in routers.items() for route in router.routes]
    found = []
    for name, route in routes:
        for method in route.methods:  # type: ignore[attr-defined]
            # A parameter stands for any one segment, a literal segment for itself.
            path = re.sub(r"\{[^}]+\}", "x1", route.path)  # type: ignore[attr-defined]
            for other_name, other in routes:
                if other_name != name and other.matches(_scope(method, path))[0] == Match.FULL:
                    found.append((method, path, name, other_name))
    return found


def test_every_router_module_is_included_once() -> None:
    modules = {f"api.routers.{m.name}" for m in pkgutil.iter_modules(api.routers.__path__)}
    assert len(ROUTERS) == len(INCLUDED)
    assert set(ROUTERS) == modules


def test_no_path_of_one_router_is_matched_by_a_route_of_another() -> None:
    assert sum(len(router.routes) for router in ROUTERS.values()) > 90
    assert _claimed_twice(ROUTERS) == []


def test_a_path_claimed_by_two_routers_is_found() -> None:
    """The check can fail: a route of another router that matches a seller's path is named."""
    catch_all = APIRouter()

    @catch_all.get("/listings/{anything}")
    def anything(anything: str) -> None:
        return None

    found = _claimed_twice({**ROUTERS, "catch_all": catch_all})
    assert found
    assert all("catch_all" in (name, other) for _, _, name, other in found)
