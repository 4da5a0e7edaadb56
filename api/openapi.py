"""The OpenAPI document, with every problem+json response each operation can really return.

FastAPI documents a route's success response and, for routes with parameters, a 422 of its own
shape; the market answers every error as an RFC 9457 problem (api/problems.py) and more of them
than that. Rather than repeat `responses=` on every decorator, the document is completed here,
once, from what each operation is: any (422 for an unknown query parameter; 429, since the
authentication-failure guard refuses any request carrying credentials from an address over its
limit, and registration, sign-in, order entry and uploads have limits of their own),
authenticated (401, 403), with path parameters (404; each parameter documented with the URL
guard's rules: no control character, at most `MAX_SEGMENT` characters), with a body (400 unreadable, 408 too slow,
413 too large), plus the codes a use case raises that no property tells (`DOMAIN_RESPONSES`). There is no catch-all `default` response: a status not listed here is a
defect the fuzz test (tests/e2e/test_openapi_fuzz.py) reports.
"""

import json
from typing import Any

from fastapi import FastAPI

from api.problems import PROBLEM_JSON
from api.url_checks import MAX_SEGMENT

# No path parameter holds a control character (api/url_checks.py refuses the URL).
PATH_SEGMENT_PATTERN = r"^[^\x00-\x1f\x7f]*$"

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; validation errors also list each field and rule.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "about:blank: the title says it all"},
        "title": {"type": "string", "description": "What kind of problem (stable per kind)"},
        "status": {"type": "integer", "description": "The HTTP status code"},
        "detail": {"type": "string", "description": "What went wrong and what to do about it"},
        "instance": {"type": "string", "description": "The request path"},
        "errors": {
            "type": "array",
            "description": "422 from request validation: each field and the rule it broke",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}

DESCRIPTIONS = {
    400: "The body could not be read (not JSON, or not the declared encoding)",
    401: "No, an unknown or a revoked credential",
    402: "The bid's worst-case cost is over your available credit",
    403: "Your credential is valid but does not allow this",
    404: "No such resource, or not one you may see",
    408: "The request body stopped arriving",
    409: "The resource is not in a state that allows this",
    413: "The request body is over this route's limit",
    422: "The request is invalid: a field, a query parameter or the content breaks a rule",
    429: "A rate limit was met; retry after `Retry-After` seconds",
}

# Codes that a route's properties do not tell: the domain errors its use case raises.
DOMAIN_RESPONSES: dict[str, tuple[int, ...]] = {
    "POST /bids": (402, 404, 409),
    "PATCH /bids/{bid_id}": (402, 409),
    "DELETE /bids/{bid_id}": (409,),
    "POST /listings": (404, 409),
    "PATCH /listings/{listing_id}": (409,),
    "DELETE /listings/{listing_id}": (409,),
    "DELETE /me/keys/{key_id}": (409,),
    "DELETE /operator/keys/{key_id}": (409,),
    "POST /operator/instruments": (409,),
    "POST /operator/invoices/{invoice_id}/paid": (409,),
    "POST /operator/invoices/{invoice_id}/refund": (409,),
    "POST /operator/participants/{participant_id}/payouts": (409,),
    "POST /anonymization-jobs": (404, 409),
    "POST /sessions": (401,),
    "PUT /me/password": (409,),
    "PUT /me/account": (404, 409),
    "PUT /me/conditions": (409,),
    "PUT /me/delegation": (404, 409),
    "DELETE /me/delegation": (409,),
    "POST /me/requests/{request_id}/decision": (409,),
    "POST /me/wards/{person_id}/conditions/{version}/confirm": (409,),
    "POST /banks/me/board/{request_id}/decision": (409,),
    "GET /provision-requests/{request_id}/records": (409,),
    "GET /datasets/{dataset_id}/download": (409,),
}


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` return the completed document (built once, then cached)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            complete_problem_responses(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete_problem_responses(schema: dict[str, Any]) -> None:
    """Add the problem responses of every operation; fail on a stale `DOMAIN_RESPONSES` entry."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    seen = set()
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            name = f"{method.upper()} {path}"
            seen.add(name)
            codes = set(DOMAIN_RESPONSES.get(name, ())) | {422, 429}
            parameters = operation.get("parameters", [])
            if operation.get("security"):
                codes |= {401, 403}
            _document_path_guard(parameters)
            if any(p.get("in") == "path" or p.get("name") == "cursor" for p in parameters):
                # An unknown id, or a cursor the market did not issue (it names no page).
                codes.add(404)
            if "requestBody" in operation:
                codes |= {400, 408, 413}
            responses = operation.setdefault("responses", {})
            responses.update({str(code): _problem_response(code) for code in codes})
            operation["responses"] = dict(sorted(responses.items()))
    stale = set(DOMAIN_RESPONSES) - seen
    if stale:
        raise RuntimeError(f"DOMAIN_RESPONSES names operations that do not exist: {sorted(stale)}")
    _drop_unused_validation_schemas(schema)


def _document_path_guard(parameters: list[dict[str, Any]]) -> None:
    """Say of each string path parameter what api/url_checks.py refuses before any route runs:
    a control character (422) or a segment over `MAX_SEGMENT` characters (404)."""
    for parameter in parameters:
        rules = parameter.get("schema", {})
        if parameter.get("in") == "path" and rules.get("type") == "string":
            rules.setdefault("pattern", PATH_SEGMENT_PATTERN)
            rules.setdefault("maxLength", MAX_SEGMENT)


def _problem_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[code],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if code == 429:
        response["headers"] = {
            "Retry-After": {
                "description": "Whole seconds until the limit allows another request",
                "schema": {"type": "integer", "minimum": 0},
            }
        }
    return response


def _drop_unused_validation_schemas(schema: dict[str, Any]) -> None:
    """FastAPI's own 422 shapes are replaced by `Problem`; drop them when nothing refers to them."""
    components = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if name in components:
            text = json.dumps({k: v for k, v in schema.items() if k != "components"}) + json.dumps(
                {k: v for k, v in components.items() if k != name}
            )
            if f"#/components/schemas/{name}" not in text:
                del components[name]
