"""Participants and their API keys (stored only as SHA-256 hashes, compared in constant time)."""

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from market.errors import Forbidden, InvalidRequest
from market.events import record_event
from market.models import ApiKey, Participant, utcnow

KINDS = ("business", "individual", "info_bank", "operator")
SELF_SERVICE_KINDS = ("business", "individual", "info_bank")
KEY_PREFIX = "dm"


class InvalidApiKey(Forbidden):
    status = 401
    title = "Authentication required"


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register_participant(
    *,
    session: Session,
    name: str,
    kind: str,
    recipient_category: str | None = None,
    credit_limit_yen: int = 0,
) -> tuple[Participant, str]:
    """Create a participant and its first API key; the plaintext key is returned once, never stored."""
    if kind not in KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(KINDS)}")
    if credit_limit_yen < 0:
        raise InvalidRequest("credit_limit_yen cannot be negative")
    participant = Participant(
        name=name,
        kind=kind,
        recipient_category=recipient_category,
        credit_limit_yen=credit_limit_yen,
    )
    session.add(participant)
    session.flush()
    api_key = issue_api_key(session=session, participant=participant)
    record_event(session, "ParticipantRegistered", {"participant_id": participant.id, "kind": kind})
    return participant, api_key


def issue_api_key(*, session: Session, participant: Participant) -> str:
    """Issue a new API key `dm_<key id>_<secret>` for a participant."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(ApiKey(id=key_id, participant_id=participant.id, secret_hash=_hash_secret(secret)))
    return f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(*, session: Session, presented: str) -> Participant:
    """Return the participant owning a live API key; raise InvalidApiKey otherwise."""
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        raise InvalidApiKey("malformed API key: send 'Authorization: Bearer dm_<id>_<secret>'")
    record = session.get(ApiKey, key_id)
    expected = record.secret_hash if record is not None else _hash_secret("")
    if not hmac.compare_digest(expected, _hash_secret(secret)) or record is None:
        raise InvalidApiKey("unknown or revoked API key")
    if record.revoked_at is not None:
        raise InvalidApiKey("unknown or revoked API key")
    participant = session.get(Participant, record.participant_id)
    if participant is None:
        raise InvalidApiKey("unknown or revoked API key")
    return participant


def revoke_api_key(*, session: Session, key_id: str) -> None:
    """Revoke a key so it no longer authenticates."""
    record = session.get(ApiKey, key_id)
    if record is not None and record.revoked_at is None:
        record.revoked_at = utcnow()
        session.add(record)


def list_participants(*, session: Session) -> list[Participant]:
    query = select(Participant).order_by(Participant.created_at)  # type: ignore[arg-type]
    return list(session.exec(query))
