"""Domain events: written to the outbox in the changing transaction, published after commit.

The bus is in-process by default and Redis Streams when `DATAMARKET_REDIS_URL` is set; both
implement `EventBus`, and the same contract tests run against both.
"""

import json
import threading
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Insert, insert
from sqlmodel import Session

from market.models import OutboxEvent, utcnow

# The mark a flush of outbox rows leaves on its session: the commit then wakes the publisher.
from market.outbox import NEW_EVENTS as NEW_EVENTS_KEY

# Publication lives with the background publisher; re-exported for existing callers.
from market.outbox import publish_pending as publish_pending


def record_event(session: Session, event_type: str, payload: dict[str, Any]) -> None:
    """Add an event to the outbox of the current transaction.

    One prepared insert on the session's connection, at once: every outbox row is written here,
    so their ids keep the order the events were recorded in, as the ORM's flush kept it, without
    an ORM object per event (issue 14). The session is marked for the publisher as a flush of
    outbox rows marks it.
    """
    session.connection().execute(
        _insert_event(), {"type": event_type, "payload": payload, "created_at": utcnow()}
    )
    session.info[NEW_EVENTS_KEY] = True


@cache
def _insert_event() -> Insert:
    return insert(OutboxEvent.__table__)  # type: ignore[attr-defined]


class EventBus(Protocol):
    """Where published events go."""

    def publish(self, event_id: int, event_type: str, payload: dict[str, Any]) -> None: ...

    def read_recent(self, count: int) -> list[tuple[str, dict[str, Any]]]: ...


class InProcessBus:
    """The most recent events, kept in memory (the embedded default's feed)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._capacity = capacity
        self._lock = threading.Lock()

    def publish(self, event_id: int, event_type: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self._events.append((event_type, payload))
            del self._events[: -self._capacity]

    def read_recent(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._events[-count:])


class RedisStreamBus:
    """Events appended to one Redis Stream (`<prefix>:events`), capped in length."""

    def __init__(self, client: Any, prefix: str, maxlen: int = 100_000) -> None:
        self._client = client
        self.stream = f"{prefix}:events"
        self._maxlen = maxlen

    def publish(self, event_id: int, event_type: str, payload: dict[str, Any]) -> None:
        self._client.xadd(
            self.stream,
            {"id": str(event_id), "type": event_type, "payload": json.dumps(payload)},
            maxlen=self._maxlen,
            approximate=True,
        )

    def read_recent(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        entries = self._client.xrevrange(self.stream, count=count)
        return [
            (_text(fields[b"type"]), json.loads(fields[b"payload"]))
            for _, fields in reversed(entries)
        ]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
