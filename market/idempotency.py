"""Idempotency keys: a retried request with the same key gets the first response, never a second effect.

A key is reserved (committed) before the work runs, so two concurrent requests with one key cannot
both act; the response is stored after the work commits. If the work fails, the reservation is
released so the client may retry. A key reused with a different request body is refused.
"""

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete

from market.errors import Conflict, InvalidRequest
from market.models import IdempotencyRecord

MAX_KEY_LENGTH = 100


def fingerprint(method: str, path: str, body: Any) -> str:
    """A hash of what the request asks for, to detect a key reused for another request."""
    canonical = json.dumps([method, path, body], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def reserve(
    *, session: Session, participant_id: str, key: str, request_hash: str
) -> dict[str, Any] | None:
    """Reserve a key for a new request, or return the stored response of the earlier one."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise InvalidRequest(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    existing = session.get(IdempotencyRecord, (participant_id, key))
    if existing is None:
        session.add(
            IdempotencyRecord(participant_id=participant_id, key=key, request_hash=request_hash)
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise Conflict(
                "a request with this Idempotency-Key is being processed; retry shortly"
            ) from None
        return None
    if existing.request_hash != request_hash:
        raise Conflict(
            "this Idempotency-Key was already used for a different request; use a new key"
        )
    if existing.response is None:
        raise Conflict("a request with this Idempotency-Key is being processed; retry shortly")
    return existing.response


def complete(*, session: Session, participant_id: str, key: str, response: dict[str, Any]) -> None:
    """Store the response that later retries with this key receive."""
    record = session.get(IdempotencyRecord, (participant_id, key))
    if record is not None:
        record.response = response
        session.add(record)
        session.commit()


def release(*, session: Session, participant_id: str, key: str) -> None:
    """Forget a reservation whose work failed, so the client may retry."""
    session.execute(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.participant_id) == participant_id,
            col(IdempotencyRecord.key) == key,
        )
    )
    session.commit()
