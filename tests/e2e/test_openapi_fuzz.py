"""Schemathesis over the whole OpenAPI of a seeded live market, with all of its checks.

Every operation is fuzzed (examples, coverage, fuzzing and stateful phases) with the credentials
of the role that uses it and with valid ids of seeded objects, and each must reach a 2xx. The run
must report no failure: no server error, no undocumented status code, header or content type, no
response off its schema, no valid request refused, no invalid one accepted, a 405 with `Allow`.

The coverage phase's cases are deterministic, so each runs once across the two databases: its
schema-violating cases (almost all refused by request validation before a query; the `405`,
content-type and request-shape probes among them) on SQLite, its schema-valid ones (boundary
values that reach the database) on PostgreSQL; the coverage of an operation in
`COVERED_WHOLE_ON_SQLITE` runs whole on SQLite. The examples, fuzzing and stateful phases send
valid and invalid requests on both. By hand, at full strength (the whole coverage phase on both
databases, more examples per operation):

    DATAMARKET_TEST_FUZZ_FULL=1 DATAMARKET_TEST_FUZZ_EXAMPLES=25 \
        .venv/bin/python -m pytest tests/e2e/test_openapi_fuzz.py -s

docs/security.md ("Fuzzing") says more.
"""

import os
import time
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.engine import events as engine_events
from schemathesis.engine import from_schema

from market.service import Market
from market.settings import Settings
from tests.e2e.openapi_seed import (
    CHECKUP_SPEC,
    INSTRUMENT,
    PASSWORD,
    PATH_IDS,
    TRAFFIC_CSV,
    Seeded,
    role_of,
    seed_market,
    seed_requests,
)

SEED = 20261201
# Examples per operation in the fuzzing and stateful phases.
MAX_EXAMPLES = int(os.environ.get("DATAMARKET_TEST_FUZZ_EXAMPLES", "4"))
# The coverage phase's cases of each mode on each database (see the module docstring).
FULL_STRENGTH = os.environ.get("DATAMARKET_TEST_FUZZ_FULL", "") not in ("", "0")
COVERAGE_MODE = {"sqlite": "negative", "postgresql": "positive"}
# Operations whose largest valid request is costly (the coverage phase sends the most records an
# import takes, and one fewer): their whole coverage phase runs on SQLite, where it is cheapest.
COVERED_WHOLE_ON_SQLITE = {"POST /me/records/import"}

# Bodies whose content obeys rules a JSON Schema cannot carry (a CSV's rows, a record checked
# against its category's schema, a job spec's cross-column rules, a date not in the past or the
# future, a registration number's check digit, a dataset or a pool but not both, a bid's named
# dataset trading on the bid's instrument): for these a schema-valid request may get a 422
# naming the broken rule.
CONTENT_RULES = {
    "POST /datasets",
    "POST /me/records",
    "POST /me/records/import",
    "POST /me/records/import-csv",
    "POST /anonymization-jobs",
    "PUT /me/account",
    "PUT /me/conditions",
    "PUT /me/tax-profile",
    "POST /listings",
    "POST /datasets/{dataset_id}/revisions",
    "PUT /datasets/{dataset_id}/metadata",
    "POST /orders/batch",
    "POST /bids",
}
# Orders checked against the buyer's credit: 402 answers the account's state, as 409 would.
CREDIT_CHECKED = {"POST /bids", "PATCH /bids/{bid_id}"}
ACCEPTED = ["2xx", "401", "403", "404", "409"]

# Body fields that name a seeded object or a secret: positive cases use the real one.
BODY_VALUES: dict[str, dict[str, str]] = {
    "POST /sessions": {"participant_id": "person", "password": "=" + PASSWORD},
    "POST /sessions/reauthenticate": {"password": "=" + PASSWORD},
    "PUT /me/password": {"current_password": "=" + PASSWORD},
    "PUT /me/delegation": {"bank_id": "bank"},
    "PUT /me/account": {"guardian_id": "guardian"},
    "POST /listings": {"dataset_id": "dataset"},
    "POST /anonymization-jobs": {"dataset_id": "personal_dataset"},
    "POST /bids": {"instrument": "=" + INSTRUMENT, "dataset_id": "dataset"},
    "POST /operator/participants/{participant_id}/payouts": {"amount_yen": "=1"},
    # The seeded refunded invoice has only part of its amount left to refund.
    "POST /operator/invoices/{invoice_id}/refund": {"amount_yen": "=1"},
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The fuzzer sends thousands of requests from one address: rate limits would answer 429."""
    return settings.model_copy(update={"rate_limits_enabled": False})


def _with_examples(document: dict[str, Any], seeded: Seeded) -> dict[str, Any]:
    """The document with a valid example body where random content never passes the rules."""
    record = {"category": "health_checkup", "data": {"checked_on": "2026-04-01"}}
    examples = {
        ("/datasets", "multipart/form-data"): {
            "file": TRAFFIC_CSV.decode(),
            "title": "Traffic",
            "category": "mobility.traffic",
            "data_class": "non_personal",
        },
        ("/anonymization-jobs", "application/json"): {
            "dataset_id": seeded.ids["personal_dataset"],
            "spec": CHECKUP_SPEC,
        },
        ("/datasets/{dataset_id}/revisions", "multipart/form-data"): {
            "file": TRAFFIC_CSV.decode(),
            "note": "a new month",
        },
        ("/me/records", "application/json"): record,
        ("/me/records/import", "application/json"): {
            "format": "datamarket.pds/1",
            "records": [record],
        },
        ("/me/records/import-csv", "multipart/form-data"): {
            "category": "health_checkup",
            "file": "checked_on\n2026-04-01\n",
        },
    }
    for (path, media_type), example in examples.items():
        content = document["paths"][path]["post"]["requestBody"]["content"][media_type]
        content["example"] = example
    # A new price above every seeded bid: the listing to amend stays unsold.
    content = document["paths"]["/listings/{listing_id}"]["patch"]["requestBody"]["content"]
    content["application/json"]["example"] = {"price_yen": 9_600}
    # A strong new password: random ones rarely pass the strength rules, and the first change
    # makes the seeded current password stale for every later attempt.
    content = document["paths"]["/me/password"]["put"]["requestBody"]["content"]
    content["application/json"]["example"] = {
        "password": "a brand new passphrase for 2027",
        "current_password": PASSWORD,
    }
    return document


def _operations(document: dict[str, Any]) -> list[str]:
    return [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
    ]


def _cursors(http: httpx.Client, document: dict[str, Any], seeded: Seeded) -> dict[str, str]:
    """A real next-page cursor of every list that takes one (cursors are opaque to clients)."""
    cursors = {}
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not get or not any(p["name"] == "cursor" for p in get.get("parameters", [])):
            continue
        name = f"GET {path}"
        headers = {"Authorization": f"Bearer {seeded.tokens[role_of(name)]}"}
        response = http.get(path, params={"limit": 1}, headers=headers)
        assert response.status_code == 200, f"{name}: {response.text}"
        assert "X-Next-Cursor" in response.headers, f"{name}: seed a second item"
        cursors[name] = response.headers["X-Next-Cursor"]
    return cursors


def _path_value(value: str) -> str | int:
    """Integer path parameters (a conditions version) are pinned as integers."""
    return int(value) if value.isdigit() else value


def _value(seeded: Seeded, ref: str) -> str | int:
    """A seeded id, or a literal after `=` (digits are a number)."""
    if not ref.startswith("="):
        return seeded.ids[ref]
    return int(ref[1:]) if ref[1:].isdigit() else ref[1:]


def fuzz_config(
    base_url: str,
    document: dict[str, Any],
    seeded: Seeded,
    cursors: dict[str, str],
    backend: str | None = None,
) -> dict[str, Any]:
    """Schemathesis configuration: who calls each operation and with which real values."""
    dictionaries: dict[str, Any] = {}
    operations = []
    for name in _operations(document):
        entry: dict[str, Any] = {"include-name": name, "phases": _coverage(name, backend)}
        method, path = name.split(" ", 1)
        if document["paths"][path][method.lower()].get("security"):
            entry["headers"] = {"Authorization": f"Bearer {seeded.tokens[role_of(name)]}"}
        parameters: dict[str, Any] = {
            f"path.{param}": _path_value(seeded.ids[ref])
            for param, ref in PATH_IDS.get(name, {}).items()
        }
        for field, ref in BODY_VALUES.get(name, {}).items():
            key = f"{name} {field}"
            dictionaries[key] = {"values": [_value(seeded, ref)]}
            parameters[f"body.{field}"] = {"dictionary": key, "probability": 1.0}
        if name in cursors:
            dictionaries[name] = {"values": [cursors[name]]}
            parameters["query.cursor"] = {"dictionary": name, "probability": 1.0}
        if parameters:
            entry["parameters"] = parameters
        accepted = ACCEPTED + ["422"] * (name in CONTENT_RULES) + ["402"] * (name in CREDIT_CHECKED)
        if accepted != ACCEPTED:
            entry["checks"] = {"positive_data_acceptance": {"expected-statuses": accepted}}
        operations.append(entry)
    return {
        "base-url": base_url,
        "seed": SEED,
        "workers": 1,
        # Anonymization jobs started by the fuzzer run beside it on two cores.
        "request-timeout": 60,
        "generation": {"max-examples": MAX_EXAMPLES},
        "checks": {"enabled": True},
        "dictionaries": dictionaries,
        "operations": operations,
    }


def _coverage(name: str, backend: str | None) -> dict[str, Any]:
    """The coverage phase of one operation on one database (all of it when `backend` is None)."""
    mode = "all" if backend is None else COVERAGE_MODE[backend]
    if name in COVERED_WHOLE_ON_SQLITE and backend is not None:
        if backend != "sqlite":
            return {"coverage": {"enabled": False}}
        mode = "all"
    return {"coverage": {"generation": {"mode": mode}}}


def _label(case: Any) -> str:
    return str(case.operation.label)


@pytest.mark.slow
def test_schemathesis_finds_no_failures_and_every_operation_reaches_a_2xx(
    live_url: str, settings: Settings
) -> None:
    started = (time.monotonic(), time.process_time())
    with httpx.Client(base_url=live_url, timeout=60) as http:
        seeded = seed_market(http, settings)
        market = Market(settings)
        try:
            seed_requests(market, seeded)
        finally:
            market.close()
        document = http.get("/openapi.json").json()
        cursors = _cursors(http, document, seeded)
    driver = settings.resolved_database_url.split(":", 1)[0].split("+", 1)[0]
    backend = None if FULL_STRENGTH else driver
    config = schemathesis.Config.from_dict(
        fuzz_config(live_url, document, seeded, cursors, backend)
    )
    schema = schemathesis.openapi.from_dict(_with_examples(document, seeded), config=config)

    failures: set[str] = set()
    errors: list[str] = []
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    phase_started: dict[str, tuple[float, float]] = {}
    phase_seconds: dict[str, tuple[float, float]] = {}
    phase_requests: Counter[str] = Counter()
    for event in from_schema(schema).execute():
        if isinstance(event, engine_events.PhaseStarted):
            phase_started[event.phase.name.value] = (time.monotonic(), time.process_time())
        if isinstance(event, engine_events.PhaseFinished):
            name = event.phase.name.value
            wall, cpu = phase_started.get(name, (time.monotonic(), time.process_time()))
            phase_seconds[name] = (time.monotonic() - wall, time.process_time() - cpu)
        if isinstance(event, engine_events.NonFatalError | engine_events.FatalError):
            errors.append(str(getattr(event, "value", getattr(event, "exception", event))))
        recorder = getattr(event, "recorder", None)
        if recorder is None or not isinstance(
            event, engine_events.ScenarioFinished | engine_events.FuzzScenarioFinished
        ):
            continue
        for case_id, interaction in recorder.interactions.items():
            if interaction.response is not None and case_id in recorder.cases:
                operation = _label(recorder.cases[case_id].value)
                statuses[operation][interaction.response.status_code] += 1
                phase_requests[str(getattr(event, "phase", "?"))] += 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is not None:
                    failure = check.failure_info.failure
                    operation = (
                        _label(recorder.cases[case_id].value)
                        if case_id in recorder.cases
                        else recorder.label
                    )
                    interaction = recorder.interactions.get(case_id)
                    answer = (
                        interaction.response.content[:300].decode(errors="replace")
                        if interaction is not None and interaction.response is not None
                        else ""
                    )
                    steps = check.failure_info.steps
                    failures.add(
                        f"{operation}: {check.name}: {failure.title} "
                        f"[{steps[-1].curl if steps else ''}] -> {answer}"
                    )

    print(
        f"schemathesis {schemathesis.__version__} ({driver}, coverage "
        f"{'all' if backend is None else COVERAGE_MODE[backend]}, "
        f"{MAX_EXAMPLES} examples): {len(statuses)} operations, "
        f"{sum(sum(c.values()) for c in statuses.values())} requests, {len(failures)} failures "
        f"in {time.monotonic() - started[0]:.1f} s ({time.process_time() - started[1]:.1f} s CPU); "
        + ", ".join(
            f"{name} {wall:.1f} s ({cpu:.1f} s CPU), {phase_requests[name]} requests"
            for name, (wall, cpu) in phase_seconds.items()
            if phase_requests[name]
        )
    )
    assert not errors, "\n".join(errors)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(sorted(failures))
    never_2xx = [
        name
        for name in _operations(document)
        if not any(200 <= status < 300 for status in statuses[name])
    ]
    assert not never_2xx, f"operations that never reached a 2xx: {never_2xx}" + "".join(
        f"\n{name}: {dict(statuses[name])}" for name in never_2xx
    )
