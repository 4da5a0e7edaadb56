"""The base of every feature desk: one unit of work per use case, published after commit.

`Market` (market/service.py) is the composition root: it builds one desk per feature and hands each
the database, the publication hook and whatever other desks it needs. A desk holds no rules of its
own; it opens the transaction around the feature's service functions.
"""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from market import db

T = TypeVar("T")


class UnitOfWork:
    """Transactions on one database that publish the outbox once they committed."""

    def __init__(self, engine: Engine, *, after_commit: Callable[[], None]) -> None:
        self.db = engine
        self.after_commit = after_commit

    def transaction(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction; commit, then publish what it recorded."""
        with db.unit_of_work(self.db) as session:
            result = work(session)
        self.after_commit()
        return result

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` on a read-only session."""
        with Session(self.db) as session:
            return work(session)
