"""Idempotency keys: a retried request with the same key gets the first response, never a second effect.

A key is reserved (committed) before the work runs, so two concurrent requests with one key cannot
both act. The response is stored in the work's own transaction (see `Claim`), so it commits exactly
when the work does: a retry finds either the stored response or no completed work. If the work
fails, the reservation is released so the client may retry; a reservation whose work never
completed (the process died) expires after `RESERVATION_TTL` and may be taken over. A key reused
with a different request body is refused.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

from market.errors import Conflict, InvalidRequest
from market.models import IdempotencyRecord, utcnow

MAX_KEY_LENGTH = 100
RESERVATION_TTL = timedelta(minutes=5)


@dataclass
class Claim:
    """A reserved key: the work stores its rendered response through it before committing."""

    participant_id: str
    key: str
    render: Callable[[Session, Any], dict[str, Any]]
    response: dict[str, Any] | None = field(default=None)

    def complete(self, session: Session, result: Any) -> None:
        """Store the response to `result` in the work's transaction."""
        self.response = self.render(session, result)
        record = session.get(IdempotencyRecord, (self.participant_id, self.key))
        if record is None:
            return
        record.response = self.response
        session.add(record)


class KeyInProgress(Conflict):
    """A request with the same key is still being answered: its retry (after `Retry-After`)
    gets the first request's answer."""

    retry_after_seconds = 1

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is being processed; retry shortly")


def fingerprint(method: str, path: str, body: Any) -> str:
    """A hash of what the request asks for, to detect a key reused for another request."""
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reserve(
    *, session: Session, participant_id: str, key: str, request_hash: str
) -> dict[str, Any] | None:
    """Reserve a key for a new request, or return the stored response of the earlier one."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    existing = session.get(IdempotencyRecord, (participant_id, key))
    if existing is None:
        session.add(
            IdempotencyRecord(participant_id=participant_id, key=key, request_hash=request_hash)
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise KeyInProgress() from None
        return None
    if existing.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    if existing.response is not None:
        return existing.response
    if _take_over_expired(session=session, participant_id=participant_id, key=key):
        return None
    raise KeyInProgress()


def _take_over_expired(*, session: Session, participant_id: str, key: str) -> bool:
    """Claim a reservation whose work never completed within the TTL (a conditional update)."""
    now = utcnow()
    result = session.execute(
        update(IdempotencyRecord)
        .where(
            col(IdempotencyRecord.participant_id) == participant_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.response).is_(None),
            col(IdempotencyRecord.created_at) < now - RESERVATION_TTL,
        )
        .values(created_at=now)
    )
    session.commit()
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release(*, session: Session, participant_id: str, key: str) -> None:
    """Forget a reservation whose work failed, so the client may retry."""
    session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.participant_id) == participant_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.response).is_(None),
        )
    )
    session.commit()
