"""Writers of one process queue on one lock per SQLite file, released when they commit or roll back."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from market import db


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    made = db.make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    with made.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield made
    made.dispose()


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return [r[0] for r in connection.execute(text("SELECT n FROM t ORDER BY n"))]


def test_a_second_writer_waits_on_the_lock_and_goes_on_at_the_commit(engine: Engine) -> None:
    lock = db._writer_lock(str(engine.url.database))
    second_started = threading.Event()
    second_done = threading.Event()

    def second() -> None:
        second_started.set()
        with db.unit_of_work(engine) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        second_done.set()

    with db.unit_of_work(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert lock.locked()
        other = threading.Thread(target=second)
        other.start()
        second_started.wait(5)
        # It waits for this transaction, not in SQLite's busy handler with its growing sleeps.
        assert not second_done.wait(0.2)
    other.join(10)
    assert second_done.is_set()
    assert _rows(engine) == [1, 2]
    assert not lock.locked()


def test_a_rollback_and_a_failed_statement_release_the_lock(engine: Engine) -> None:
    lock = db._writer_lock(str(engine.url.database))
    with pytest.raises(OperationalError), db.unit_of_work(engine) as session:
        session.execute(text("INSERT INTO missing VALUES (1)"))
    assert not lock.locked()
    with pytest.raises(RuntimeError), db.unit_of_work(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the use case failed")
    assert not lock.locked()
    assert _rows(engine) == []


def test_engines_on_one_file_share_the_lock(engine: Engine) -> None:
    other = db.make_engine(str(engine.url))
    try:
        assert db._writer_lock(str(other.url.database)) is db._writer_lock(str(engine.url.database))
    finally:
        other.dispose()


def test_a_nested_writer_in_one_thread_fails_instead_of_hanging(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_LOCK_SECONDS", 0.2)
    with db.unit_of_work(engine) as outer:
        outer.execute(text("INSERT INTO t VALUES (1)"))
        with (
            pytest.raises(OperationalError, match="database is locked"),
            db.unit_of_work(engine) as inner,
        ):
            inner.execute(text("INSERT INTO t VALUES (2)"))
    assert _rows(engine) == [1]
    assert not db._writer_lock(str(engine.url.database)).locked()


def test_readers_do_not_take_the_lock(engine: Engine) -> None:
    lock = db._writer_lock(str(engine.url.database))
    with engine.connect() as connection:
        connection.execute(text("SELECT count(*) FROM t")).scalar()
        assert not lock.locked()
