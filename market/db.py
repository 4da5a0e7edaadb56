"""Database engine, sessions and migrations (Alembic, applied on start)."""

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Bound values are personal data more often than not: errors and logs show the statement only.
HIDE_PARAMETERS = True
# How long a write transaction waits for the write lock, in this process and in SQLite's busy
# handler alike, before it fails with "database is locked".
SQLITE_LOCK_SECONDS = 30.0

# One writer lock per SQLite file in this process (engines on the same file share it).
_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(path: str) -> threading.Lock:
    key = os.path.realpath(path)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


def _writer_connection(lock: threading.Lock) -> type[sqlite3.Connection]:
    """A driver connection that queues for `lock` before it takes SQLite's write lock.

    SQLite's busy handler polls a held write lock with growing sleeps (1, 2, 5 ... 100 ms), so
    two threads of one process that both write (the engine thread and the outbox publisher, a
    request's unit of work) waited for each other far longer than either held the lock. Writers
    of this process instead queue on a Python lock, handed over the moment the holder commits or
    rolls back; SQLite's busy handler still arbitrates between processes.
    """

    class WriterConnection(sqlite3.Connection):
        holds_writer_lock = False

        def take_writer_lock(self) -> None:
            if not lock.acquire(timeout=SQLITE_LOCK_SECONDS):
                raise sqlite3.OperationalError("database is locked")
            self.holds_writer_lock = True

        def release_writer_lock(self) -> None:
            if self.holds_writer_lock:
                self.holds_writer_lock = False
                lock.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.release_writer_lock()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.release_writer_lock()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.release_writer_lock()

    return WriterConnection


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite files get WAL, foreign keys, a busy timeout and, for the
    writers of this process, one writer lock per file (`_writer_connection`)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        connect_args: dict[str, object] = {
            "check_same_thread": False,
            "timeout": SQLITE_LOCK_SECONDS,
        }
        if path and path != ":memory:":
            create_owner_only(Path(path))
            connect_args["factory"] = _writer_connection(_writer_lock(path))
        engine = create_engine(url, connect_args=connect_args, hide_parameters=HIDE_PARAMETERS)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # The driver's own implicit BEGIN is turned off so that `_sqlite_begin` decides.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # A unit of work takes SQLite's write lock when it begins (BEGIN IMMEDIATE): a
            # transaction that read first and wrote later would fail with "database is locked"
            # when another writer committed in between, instead of waiting its turn.
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
                raise ValueError(f"unknown SQLite transaction mode {mode!r}")
            driver = conn.connection.dbapi_connection
            writer = mode != "DEFERRED" and hasattr(driver, "take_writer_lock")
            if writer:
                try:
                    driver.take_writer_lock()
                except sqlite3.OperationalError as locked:
                    # The same error SQLite's busy timeout raises, as SQLAlchemy wraps it.
                    raise OperationalError(f"BEGIN {mode}", None, locked) from None
            # Straight to the driver: SQLAlchemy's statement machinery costs far more than
            # the BEGIN itself, once per transaction (issue 14).
            try:
                driver.execute(f"BEGIN {mode}")
            except sqlite3.OperationalError as failed:
                if writer:
                    driver.release_writer_lock()
                raise OperationalError(f"BEGIN {mode}", None, failed) from None
            except BaseException:
                if writer:
                    driver.release_writer_lock()
                raise

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=HIDE_PARAMETERS)


def create_owner_only(path: Path) -> None:
    """Create a SQLite file (and a missing folder) that only its owner can read: 0600, 0700.

    SQLite gives the -wal and -shm files it creates the database file's mode. Files of an older
    version, created 0644, are tightened.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            if file.exists() and file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except PermissionError:
            pass  # another user's file: not ours to change, and SQLite will say if it cannot open


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def bound_to(session: OrmSession, engine: Engine) -> bool:
    """Whether `session` works on `engine`'s database: bound to it, or to one of its
    connections (the engine thread's own, market/trading/desk.py)."""
    return getattr(session.bind, "engine", None) is engine


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        if engine.dialect.name == "sqlite":
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
