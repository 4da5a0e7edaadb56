"""The OpenAPI document tells clients what the URL guard refuses in a path parameter."""

import re

from starlette.testclient import TestClient

from api.app import create_app
from api.openapi import PATH_SEGMENT_PATTERN
from api.url_checks import MAX_SEGMENT


def _path_parameters(document: dict) -> list[tuple[str, dict]]:
    return [
        (f"{method.upper()} {path}", parameter)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    ]


def test_every_string_path_parameter_excludes_control_characters() -> None:
    found = _path_parameters(create_app().openapi())
    strings = [(name, p["schema"]) for name, p in found if p["schema"].get("type") == "string"]
    assert len(strings) > 40
    for name, schema in strings:
        pattern = re.compile(schema["pattern"])
        if schema["pattern"] == PATH_SEGMENT_PATTERN:
            assert pattern.search("0123456789abcdef"), name
            assert pattern.search("data/health") and pattern.search("東京"), name
        else:  # a rule of the parameter's own (a month), which excludes them too
            assert not pattern.search("0123456789abcdef"), name
        for control in ("\x00", "\x18", "\x1b", "\x7f"):
            assert not pattern.search(f"ab{control}cd"), (name, control)
        assert schema["maxLength"] <= MAX_SEGMENT, name


def test_what_the_pattern_excludes_the_guard_refuses() -> None:
    with TestClient(create_app()) as client:
        refused = client.get("/invoices/ab%18cd/refunds")
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
