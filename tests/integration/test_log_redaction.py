"""Submitted values never reach the logs when a request fails in the database (issue 9, item 5).

A 500 once logged a participant's name inside the SQL parameters of its traceback. The failures
here are forced through the real app and the real database (SQLite and PostgreSQL); the canary
value must appear nowhere in what was logged or answered.
"""

import logging

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from api.app import create_app
from market.settings import Settings

CANARY = "Canary-Yamada-4f9c"


def _insert_incomplete_participant(request: Request) -> dict[str, str]:
    """A statement that fails with the canary bound as a parameter (kind is NOT NULL)."""
    with Session(request.app.state.market.db) as session:
        session.execute(
            text("INSERT INTO participant (id, name) VALUES (:id, :name)"),
            {"id": "p-canary", "name": CANARY},
        )
        session.commit()
    return {}


def test_a_database_failure_logs_no_submitted_value(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    app.add_api_route("/test-only/fail", _insert_incomplete_participant, methods=["POST"])
    caplog.set_level(logging.DEBUG)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/test-only/fail")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert CANARY not in response.text
    crash_logs = [r for r in caplog.records if "unhandled error" in r.getMessage()]
    assert len(crash_logs) == 1
    assert "INSERT INTO participant" in crash_logs[0].getMessage()  # still useful to an operator
    assert CANARY not in caplog.text


def test_database_errors_carry_no_bound_values(settings: Settings) -> None:
    """Any code that logs a database error (not only the crash handler) shows no parameters."""
    from sqlalchemy.exc import DBAPIError

    from market.db import make_engine

    engine = make_engine(settings.resolved_database_url)
    try:
        with pytest.raises(DBAPIError) as failure, engine.connect() as connection:
            connection.execute(
                text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": CANARY}
            )
    finally:
        engine.dispose()
    assert "no_such_table" in str(failure.value)
    assert CANARY not in str(failure.value)
