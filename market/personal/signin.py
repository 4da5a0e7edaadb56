"""Sign-in for individuals: an argon2id password, session tokens with expiry, fresh re-authentication.

A token is `ps_<session id>_<secret>`; only the secret's SHA-256 is stored (the secret is 256
random bits, so a slow hash adds nothing) and compared in constant time.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session

from market.errors import InvalidRequest
from market.events import record_event
from market.models import Participant
from market.personal.errors import ReauthenticationRequired, SessionExpired, SignInFailed
from market.personal.tables import PersonCredential, PersonSession

TOKEN_PREFIX = "ps"  # noqa: S105 (a public prefix, not a secret)
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the person is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def is_session_token(presented: str) -> bool:
    return presented.startswith(TOKEN_PREFIX + "_")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(
    *,
    session: Session,
    person: Participant,
    password: str,
    current_password: str | None,
    now: datetime,
) -> None:
    """Set the first password, or change it on proof of the current one."""
    if person.kind != "individual":
        raise InvalidRequest("password sign-in is for individuals; businesses use API keys")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"choose a password of at least {MIN_PASSWORD_LENGTH} characters")
    credential = session.get(PersonCredential, person.id)
    if credential is not None:
        if current_password is None or not _password_matches(
            credential.password_hash, current_password
        ):
            raise SignInFailed("to change your password, send the current one as current_password")
    else:
        credential = PersonCredential(person_id=person.id, password_hash="")
    credential.password_hash = _hasher.hash(password)
    credential.updated_at = now
    session.add(credential)
    record_event(session, "PasswordSet", {"person_id": person.id})


def _check_password(session: Session, person_id: str, password: str) -> Participant:
    credential = session.get(PersonCredential, person_id)
    matched = _password_matches(credential.password_hash if credential else _DUMMY_HASH, password)
    person = session.get(Participant, person_id)
    if not matched or credential is None or person is None:
        raise SignInFailed("unknown person or wrong password")
    return person


def sign_in(
    *, session: Session, person_id: str, password: str, now: datetime, lifetime: timedelta
) -> tuple[PersonSession, str]:
    """Open a session; the token is returned once."""
    person = _check_password(session, person_id, password)
    secret = secrets.token_urlsafe(32)
    row = PersonSession(
        id=secrets.token_hex(12),
        person_id=person.id,
        secret_hash=_digest(secret),
        created_at=now,
        authenticated_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    record_event(session, "PersonSignedIn", {"person_id": person.id, "session_id": row.id})
    return row, f"{TOKEN_PREFIX}_{row.id}_{secret}"


def open_session(*, session: Session, presented: str, now: datetime) -> PersonSession:
    """The live session a token names; SessionExpired when unknown, revoked or past expiry."""
    _, _, rest = presented.partition("_")
    session_id, _, secret = rest.partition("_")
    row = session.get(PersonSession, session_id) if session_id else None
    expected = row.secret_hash if row is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or row is None:
        raise SessionExpired("unknown session: sign in again (POST /sessions)")
    if row.revoked_at is not None or now >= row.expires_at:
        raise SessionExpired("your session has ended: sign in again (POST /sessions)")
    return row


def require_fresh(row: PersonSession | None, *, now: datetime, window: timedelta) -> None:
    """Changes of conditions or delegation need a password entered within `window`."""
    if row is None:
        raise ReauthenticationRequired(
            "changing conditions or delegation needs a signed-in session, not an API key: "
            "POST /sessions with your password"
        )
    if now - row.authenticated_at > window:
        raise ReauthenticationRequired(
            "confirm it is you: enter your password again (POST /sessions/reauthenticate), "
            f"then repeat the change within {int(window.total_seconds() // 60)} minutes"
        )


def reauthenticate(
    *, session: Session, row: PersonSession, password: str, now: datetime
) -> PersonSession:
    _check_password(session, row.person_id, password)
    row.authenticated_at = now
    session.add(row)
    return row


def sign_out(*, session: Session, row: PersonSession, now: datetime) -> None:
    row.revoked_at = now
    session.add(row)
