"""Shared fixtures: settings on a temporary folder, a private PostgreSQL database, a Redis prefix.

Service fixtures never skip: a test that needs PostgreSQL or Redis fails when it cannot reach it.
"""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
import redis as redis_lib

from market.settings import Settings
from tests.service_urls import postgres_admin_url, redis_url


def _admin_connect() -> psycopg.Connection:
    try:
        return psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required and cannot be reached at {postgres_admin_url()}: {exc}"
        )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a fresh PostgreSQL database, dropped after the test."""
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    with _admin_connect() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with _admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Each persistence test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'market.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(autouse=True)
def _isolated_from_the_developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see none of the developer's DATAMARKET_* settings (only the test service URLs)."""
    import os

    for name in list(os.environ):
        if name.startswith("DATAMARKET_") and not name.startswith("DATAMARKET_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        master_key="11" * 32,
        redis_url=None,
    )


@pytest.fixture
def redis_client() -> Iterator[tuple[redis_lib.Redis, str]]:
    """A Redis client and a private key prefix whose keys are deleted after the test."""
    client = redis_lib.Redis.from_url(redis_url(), socket_connect_timeout=5)
    try:
        client.ping()
    except redis_lib.RedisError as exc:
        pytest.fail(f"Redis is required and cannot be reached at {redis_url()}: {exc}")
    prefix = f"dmtest:{uuid.uuid4().hex[:12]}"
    try:
        yield client, prefix
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()
