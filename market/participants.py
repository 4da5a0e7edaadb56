"""Participants and their API keys (stored only as SHA-256 hashes, compared in constant time)."""

import functools
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import Select, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, col, select

from market.audit import record_operator_action
from market.errors import Conflict, Forbidden, InvalidRequest, NotFound
from market.events import record_event
from market.models import ApiKey, Participant, utcnow
from market.money import MAX_YEN
from market.vocabulary import ParticipantKind

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
    display_name: str | None = None,
    country: str = "JP",
    security_profile: dict[str, Any] | None = None,
) -> tuple[Participant, str]:
    """Create a participant and its first API key; the plaintext key is returned once, never stored.

    Everything a participant declares about itself (category, country, security profile) stays
    unverified until an operator verifies it; credit is granted by operators only.
    """
    if kind not in ParticipantKind.__members__.values():
        raise InvalidRequest(f"kind must be one of {', '.join(ParticipantKind)}")
    if not 0 <= credit_limit_yen <= MAX_YEN:
        raise InvalidRequest(f"credit_limit_yen must be between 0 and {MAX_YEN:,}")
    participant = Participant(
        name=name,
        kind=kind,
        recipient_category=recipient_category,
        credit_limit_yen=credit_limit_yen,
        display_name=display_name,
        country=country,
        security_profile=security_profile,
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
    # One round trip, by a statement built once: the key's hash and state with its owner.
    found = session.connection().execute(_key_with_owner(), {"key_id": key_id}).mappings().first()
    expected = found[_KEY_HASH] if found is not None else _hash_secret("")
    if not hmac.compare_digest(expected, _hash_secret(secret)) or found is None:
        raise InvalidApiKey("unknown or revoked API key")
    if found[_KEY_REVOKED] is not None:
        raise InvalidApiKey("unknown or revoked API key")
    return stored_participant({name: found[name] for name in _participant_columns()})


def stored_participant(row: Any) -> Participant:
    """A participant built from its stored row, detached as if a session had loaded it (so a
    later `session.add` updates it rather than inserting it again)."""
    participant = Participant(**row)
    make_transient_to_detached(participant)
    return participant


_KEY_HASH, _KEY_REVOKED = "key_secret_hash", "key_revoked_at"


@functools.cache
def _participant_columns() -> tuple[str, ...]:
    return tuple(Participant.__table__.c.keys())  # type: ignore[attr-defined]


@functools.cache
def _key_with_owner() -> Select[Any]:
    keys = ApiKey.__table__  # type: ignore[attr-defined]
    people = Participant.__table__  # type: ignore[attr-defined]
    return (
        sa_select(
            keys.c.secret_hash.label(_KEY_HASH), keys.c.revoked_at.label(_KEY_REVOKED), people
        )
        .join_from(keys, people, people.c.id == keys.c.participant_id)
        .where(keys.c.id == bindparam("key_id"))
    )


MAX_LIVE_KEYS = 10


def issue_additional_key(*, session: Session, participant: Participant) -> str:
    """A further key for rotation; at most MAX_LIVE_KEYS live at once."""
    if len(live_keys(session=session, participant_id=participant.id)) >= MAX_LIVE_KEYS:
        raise Conflict(
            f"you have {MAX_LIVE_KEYS} live API keys; revoke one (DELETE /me/keys/{{id}}) first"
        )
    key = issue_api_key(session=session, participant=participant)
    record_event(session, "ApiKeyIssued", {"participant_id": participant.id})
    return key


def live_keys(*, session: Session, participant_id: str) -> list[ApiKey]:
    return list(
        session.exec(
            select(ApiKey)
            .where(ApiKey.participant_id == participant_id, col(ApiKey.revoked_at).is_(None))
            .order_by(col(ApiKey.created_at))
        )
    )


def revoke_own_api_key(*, session: Session, participant: Participant, key_id: str) -> ApiKey:
    """Revoke one of the participant's keys; its last live key cannot go (it would lock them out)."""
    record = session.get(ApiKey, key_id)
    if record is None or record.participant_id != participant.id:
        raise NotFound(f"you have no API key {key_id}")
    if record.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    if len(live_keys(session=session, participant_id=participant.id)) <= 1:
        raise Conflict(
            "this is your last API key: issue a new one (POST /me/keys) before revoking it"
        )
    return _revoke(session, record)


def revoke_api_key(*, session: Session, operator: Participant, key_id: str, reason: str) -> ApiKey:
    """An operator revokes any key (a leaked or abused one); audited."""
    record = session.get(ApiKey, key_id)
    if record is None:
        raise NotFound(f"API key {key_id} does not exist")
    if record.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    record_operator_action(
        session=session,
        operator=operator,
        action="api_key.revoked",
        target_id=record.participant_id,
        reason=reason,
        details={"key_id": key_id},
    )
    return _revoke(session, record)


def _revoke(session: Session, record: ApiKey) -> ApiKey:
    record.revoked_at = utcnow()
    session.add(record)
    record_event(
        session, "ApiKeyRevoked", {"participant_id": record.participant_id, "key_id": record.id}
    )
    return record


UNVERIFIED_PREFIX = "unverified:"


def recipient_claims(participant: Participant) -> frozenset[str]:
    """What the engine knows of a buyer's category: `category:<c>` once an operator verified it.

    An unverified declaration becomes `unverified:<c>`, which no allow rule names, so it opens no
    listing restricted to that category; listings deny it too (see `denied_for_engine`), so
    declaring a category never escapes a rule that denies it.
    """
    category = participant.recipient_category
    if not category:
        return frozenset()
    if participant.verification == "verified":
        return frozenset({f"category:{category}"})
    return frozenset({f"{UNVERIFIED_PREFIX}{category}"})


def denied_for_engine(denied: list[str]) -> frozenset[str]:
    """A listing's denied recipients, with each denied category denied verified or not."""
    extra = {
        UNVERIFIED_PREFIX + entry.removeprefix("category:")
        for entry in denied
        if entry.startswith("category:")
    }
    return frozenset(denied) | extra


def public_name(participant: Participant) -> str:
    """The name shown to other participants: the chosen display name, never a person's own name."""
    if participant.display_name:
        return participant.display_name
    if participant.kind == "individual":
        return "個人 / individual"
    return participant.name


def set_verification(
    *, session: Session, operator: Participant, participant_id: str, verified: bool, reason: str
) -> Participant:
    """Verify (or withdraw verification of) a participant's declared category, country and profile."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"participant {participant_id} does not exist")
    participant.verification = "verified" if verified else "unverified"
    participant.verified_at = utcnow() if verified else None
    session.add(participant)
    record_operator_action(
        session=session,
        operator=operator,
        action="participant.verified" if verified else "participant.unverified",
        target_id=participant.id,
        reason=reason,
        details={
            "recipient_category": participant.recipient_category,
            "country": participant.country,
        },
    )
    record_event(
        session,
        "ParticipantVerificationChanged",
        {"participant_id": participant.id, "verification": participant.verification},
    )
    return participant
