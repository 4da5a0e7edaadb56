"""Shared fixtures: settings on a temporary folder, a private PostgreSQL database, a Redis prefix.

A test's database starts at the newest migration: each pytest worker migrates a SQLite file and a
PostgreSQL template database once per session, and each test gets a copy (a file copy, or
`CREATE DATABASE ... TEMPLATE`), in a fraction of the time the migrations take. A test of the
migrations themselves, or of what a database without tables does, asks for `blank_database_url`,
`blank_postgres_url` or `blank_settings` instead.

Temporary folders live on tmpfs (/dev/shm) when it has 2 GiB free, and are removed after the run:
the market syncs every stored object to disk, which a test has no use for. DATAMARKET_TEST_TMPFS=0
or `--basetemp` keeps pytest's default (the last runs' folders kept, for a look at a failure).

Service fixtures never skip: a test that needs PostgreSQL or Redis fails when it cannot reach it.
"""

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
import pytest
import redis as redis_lib
from psycopg import sql

from market import db
from market.settings import Settings
from tests.service_urls import postgres_admin_url, redis_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
TMPFS = Path("/dev/shm")
TMPFS_ROOM = 2 * 2**30


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Put this run's temporary folders on tmpfs, removed after the run (xdist workers inherit)."""
    if (
        config.option.basetemp
        or hasattr(config, "workerinput")
        or os.environ.get("DATAMARKET_TEST_TMPFS", "1") == "0"
        or not (TMPFS.is_dir() and os.access(TMPFS, os.W_OK))
        or shutil.disk_usage(TMPFS).free < TMPFS_ROOM
    ):
        return
    basetemp = tempfile.mkdtemp(prefix="datamarket-pytest-", dir=TMPFS)
    config.option.basetemp = basetemp
    config.add_cleanup(lambda: shutil.rmtree(basetemp, ignore_errors=True))


def _admin_connect() -> psycopg.Connection:
    try:
        return psycopg.connect(postgres_admin_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required and cannot be reached at {postgres_admin_url()}: {exc}"
        )


def _postgres_url(name: str) -> str:
    base = postgres_admin_url().rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def _create_database(prefix: str = "dm_test", template: str | None = None) -> str:
    """A new PostgreSQL database, empty or a copy of `template`: its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    with _admin_connect() as conn:
        conn.execute(create)
    return name


def _drop_database(name: str) -> None:
    with _admin_connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def _postgres_database(prefix: str = "dm_test") -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on exit: its name."""
    name = _create_database(prefix)
    try:
        yield name
    finally:
        _drop_database(name)


class _TemplateCopies:
    """Copies of a template database: each made while the test before runs, dropped after it.

    One background thread does the work in order, so a test waits neither for CREATE DATABASE
    nor for DROP DATABASE (both wait for the server's disk) unless it starts before they end.
    """

    def __init__(self, template: str) -> None:
        self._template = template
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-databases")
        self._next = self._worker.submit(_create_database, template=template)
        self._drops: list[Future[None]] = []

    def take(self) -> str:
        """The copy made ahead (waiting for it if need be); the next one is started."""
        taken = self._next
        self._next = self._worker.submit(_create_database, template=self._template)
        return taken.result()

    def give_back(self, name: str) -> None:
        self._drops.append(self._worker.submit(_drop_database, name))

    def close(self) -> None:
        """Drop the copy made ahead; raise the first error of a drop (a database left behind)."""
        if self._next.exception() is None:
            self.give_back(self._next.result())
        self._worker.shutdown(wait=True)
        for dropped in self._drops:
            dropped.result()


@pytest.fixture(scope="session")
def _postgres_template() -> Iterator[str]:
    """A PostgreSQL database at the newest migration, for this worker and session only."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with _postgres_database(prefix=f"dm_template_{worker}") as name:
        engine = db.make_engine(_postgres_url(name))
        try:
            db.migrate(engine)
        finally:
            # CREATE DATABASE ... TEMPLATE refuses a template that anyone is connected to.
            engine.dispose()
        yield name


@pytest.fixture(scope="session")
def _postgres_copies(_postgres_template: str) -> Iterator[_TemplateCopies]:
    copies = _TemplateCopies(_postgres_template)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SQLite file at the newest migration, for this worker and session only."""
    path = tmp_path_factory.mktemp("template") / "market.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        db.migrate(engine)
    finally:
        engine.dispose()
    # The write-ahead log folded into the file: a copy of the file alone is the whole database.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(f"{path.name}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, "the template's log was not checkpointed"
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.fixture
def postgres_url(_postgres_copies: _TemplateCopies) -> Iterator[str]:
    """A SQLAlchemy URL of a private PostgreSQL database at the newest migration, dropped after."""
    name = _postgres_copies.take()
    try:
        yield _postgres_url(name)
    finally:
        _postgres_copies.give_back(name)


@pytest.fixture
def blank_postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a private, empty PostgreSQL database (no tables), dropped after."""
    with _postgres_database() as name:
        yield _postgres_url(name)


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """A SQLAlchemy URL of a SQLite file at the newest migration (owner-only, as the market makes)."""
    path = tmp_path / "market.db"
    shutil.copyfile(_sqlite_template, path)
    path.chmod(0o600)
    return f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each persistence test runs once on SQLite and once on PostgreSQL, at the newest migration."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture(params=BACKENDS)
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables) on SQLite and on PostgreSQL: for tests of the migrations."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'market.db'}"
    return str(request.getfixturevalue("blank_postgres_url"))


@pytest.fixture(autouse=True)
def _isolated_from_the_developer_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see none of the developer's DATAMARKET_* settings (only the test service URLs)."""
    import os

    for name in list(os.environ):
        if name.startswith("DATAMARKET_") and not name.startswith("DATAMARKET_TEST_"):
            monkeypatch.delenv(name)


def _test_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        master_key="11" * 32,
        redis_url=None,
    )


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return _test_settings(tmp_path, database_url)


@pytest.fixture
def blank_settings(tmp_path: Path, blank_database_url: str) -> Settings:
    """Settings on an empty database: for tests of what happens before any migration."""
    return _test_settings(tmp_path, blank_database_url)


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
