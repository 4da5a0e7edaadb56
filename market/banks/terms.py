"""Keeping PDS listings' engine terms current, at the market's time.

People's changes (conditions, delegations, records, new recipients) refresh the terms at once;
conditions that simply run out (`expires_at`) change nothing anyone does, so the market's ticker
asks `is_due()` each second and refreshes when the earliest such expiry has come, so that an
expired person's records stop counting towards a pool's cohort. Every refresh judges at the time
the order desk gives (the market's clock).
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from market.banks.orders import refresh_commands
from market.personal.conditions import from_body
from market.personal.standing import IN_EFFECT
from market.personal.tables import ConditionsVersion


def next_lapse(*, session: Session, after: datetime) -> datetime | None:
    """The earliest expiry, later than `after`, of any conditions in effect."""
    query = select(ConditionsVersion).where(ConditionsVersion.status == IN_EFFECT)
    expiries = [
        c.expires_at
        for c in (from_body(row.version, row.body) for row in session.exec(query))
        if c.expires_at is not None and c.expires_at > after
    ]
    return min(expiries, default=None)


class PersonalTerms:
    """The refresh of PDS listings' terms and when it is next due because conditions lapse."""

    def __init__(self, db: Engine, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now
        self.due_at: datetime | None = None
        # Whether `due_at` was worked out since the last lapse (a refresh or `is_due` does it).
        self.known = False

    def commands(self, session: Session) -> list[Any]:
        """Engine `Update`s for the listings whose recipients changed now; notes the next lapse."""
        now = self.now()
        found = refresh_commands(session=session, now=now)
        self.due_at, self.known = next_lapse(session=session, after=now), True
        return found

    def is_due(self) -> bool:
        """Whether conditions lapsed since the last refresh (true once per lapse)."""
        now = self.now()
        if not self.known:
            with Session(self.db) as session:
                self.due_at, self.known = next_lapse(session=session, after=now), True
        if self.due_at is None or self.due_at > now:
            return False
        self.known = False
        return True
