"""One engine owner per database: a lock held for the owner's life and a fencing token.

The matching engine lives in one process's memory and the journal is its truth, so two
processes trading on one database would each apply only their own commands and diverge. The
owner holds a lock that dies with it: on SQLite `fcntl.flock` on a file beside the database; on
PostgreSQL a session advisory lock on a connection of its own (never a pooled one, which could
be dropped and replaced without anyone noticing the lock went with it). A lock can still vanish
under a live owner (its connection cut), so each new owner also raises a fencing token
(`EngineOwner.epoch`), and every trading transaction first checks, with a conditional update
that also locks the row until it commits, that the token is still its own.
"""

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, NullPool, bindparam, create_engine, text, update
from sqlalchemy import Engine as DbEngine
from sqlmodel import Session

from market import db
from market.errors import EngineOwnedElsewhere, EngineOwnershipLost
from market.models import utcnow
from market.trading.tables import EngineOwner

# pg_try_advisory_lock key of the engine owner: the first 8 bytes of sha256("datamarket.engine").
ADVISORY_KEY = 0x5D8F_1C2B_7E44_0A93
OWNER_ROW = 1


_owner = EngineOwner.__table__  # type: ignore[attr-defined]
_FENCE = (
    update(_owner)
    .where(_owner.c.id == OWNER_ROW, _owner.c.epoch == bindparam("token"))
    .values(epoch=bindparam("token"))
)


class EngineOwnership:
    """This process's claim to own the engine of one database (nothing is held until `acquire`)."""

    def __init__(self, engine: DbEngine) -> None:
        self._db = engine
        self._file: IO[bytes] | None = None
        self._connection: Connection | None = None
        self._lock_engine: DbEngine | None = None
        self.epoch: int | None = None

    def acquire(self) -> None:
        """Take the lock and raise the fencing token; raise EngineOwnedElsewhere when held."""
        if self.epoch is not None:
            return
        self._lock()
        try:
            self.epoch = self._raise_epoch()
        except BaseException:
            self._unlock()
            raise

    def fence(self, session: Session) -> None:
        """Refuse the transaction unless this process still owns the engine.

        The update locks the owner row until `session` commits, so a new owner's takeover
        waits for this transaction and then sees it in the journal.
        """
        if self.epoch is None:
            raise EngineOwnershipLost("this process has not started the engine")
        # Core on the session's connection: the ORM's bulk-update machinery costs more than
        # the statement itself on every trading transaction.
        result = session.connection().execute(_FENCE, {"token": self.epoch})
        if getattr(result, "rowcount", 0) != 1:
            raise EngineOwnershipLost(
                "another process took over the matching engine of this database; "
                "this one no longer trades: stop it and use the new owner"
            )

    def release(self) -> None:
        """Give up the lock (the token stays: the next owner raises it)."""
        self.epoch = None
        self._unlock()

    def _lock(self) -> None:
        url = self._db.url
        if url.get_backend_name() == "sqlite":
            self._lock_file(url.database)
        elif url.get_backend_name() == "postgresql":
            self._lock_advisory()

    def _lock_file(self, database: str | None) -> None:
        if not database or database == ":memory:":
            return  # a private in-memory database cannot be shared with another process
        path = Path(database).with_name(Path(database).name + ".engine-lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EngineOwnedElsewhere(_held_message(f"the lock file {path}")) from None
        self._file = handle

    def _lock_advisory(self) -> None:
        lock_engine = create_engine(self._db.url, poolclass=NullPool)
        connection = lock_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}
            ).scalar()
        except BaseException:
            connection.close()
            lock_engine.dispose()
            raise
        if not held:
            connection.close()
            lock_engine.dispose()
            raise EngineOwnedElsewhere(_held_message("a PostgreSQL advisory lock"))
        self._connection = connection
        self._lock_engine = lock_engine

    def _unlock(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            # Closing the session (never pooled: NullPool) releases its advisory lock.
            self._connection.close()
            self._connection = None
        if self._lock_engine is not None:
            self._lock_engine.dispose()
            self._lock_engine = None

    def _raise_epoch(self) -> int:
        """Raise the fencing token (waiting for any transaction of the previous owner)."""
        with db.unit_of_work(self._db) as session:
            row = session.get(EngineOwner, OWNER_ROW, with_for_update=True)
            if row is None:
                row = EngineOwner(id=OWNER_ROW, epoch=0, owner="")
            row.epoch += 1
            row.owner = f"{socket.gethostname()}:{os.getpid()}"[:200]
            row.acquired_at = utcnow()
            session.add(row)
            return row.epoch


def _held_message(what: str) -> str:
    return (
        f"another process owns the matching engine of this database ({what} is held): "
        "stop the running market (datamarket serve) first; commands that only need the "
        "database, such as migrate and create-operator, run beside it"
    )
