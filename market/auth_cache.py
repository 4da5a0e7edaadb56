"""Verified API keys kept in memory for a few seconds, so a request skips the two key lookups.

An entry holds a SHA-256 digest of the presented key (compared in constant time, like the
stored hash) and the participant it proved, for at most `ttl_seconds`. A committed change to an
API key or a participant row (revocation, verification, a new credit limit) evicts the entries
it touches in this process when the transaction commits, and, with Redis, in every other
process through pub/sub. Staleness is therefore bounded by pub/sub delivery with Redis and by
`ttl_seconds` without it (a revocation in another process is then seen when the entry expires).
While the subscription is down nothing is cached, so a missed message cannot extend that bound.
"""

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session as OrmSession

from market import db
from market.models import ApiKey, Participant
from market.settings import Settings

log = logging.getLogger("datamarket.auth_cache")

# Rows changed by a transaction, collected at flush and acted on at commit.
_CHANGED = "auth_cache_changed"


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    participant: Participant
    expires_at: float


def _key_id(presented: str) -> str:
    """The id part of `dm_<id>_<secret>` (malformed keys are left to the verifier)."""
    return presented.partition("_")[2].partition("_")[0]


def _changed_rows(session: OrmSession, _context: Any) -> None:
    """Note the API keys and participants this flush changed or deleted."""
    keys, people = session.info.setdefault(_CHANGED, (set(), set()))
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, ApiKey):
            keys.add(row.id)
            people.add(row.participant_id)
        elif isinstance(row, Participant):
            people.add(row.id)


# Always on once imported: it only notes changed rows in the session's info.
event.listen(OrmSession, "after_flush", _changed_rows)


class ApiKeyCache:
    """Verified keys in memory; `start()` listens for commits (and Redis), `stop()` ends it."""

    def __init__(
        self,
        *,
        db: Engine,
        ttl_seconds: float,
        redis: Any | None = None,
        channel: str = "datamarket:api-keys",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.ttl_seconds = ttl_seconds
        self._redis = redis
        self.channel = channel
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # Bumped by every eviction: a verification that began before one is not cached.
        self._generation = 0
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        self.hits = 0

    @classmethod
    def from_settings(cls, settings: Settings, db: Engine) -> "ApiKeyCache":
        client = None
        if settings.redis_url:
            import redis

            client = redis.Redis.from_url(settings.redis_url)
        return cls(
            db=db,
            ttl_seconds=settings.api_key_cache_seconds,
            redis=client,
            channel=f"{settings.redis_prefix}:api-keys",
        )

    @property
    def caching(self) -> bool:
        """Whether entries are kept now (a TTL, and with Redis a live subscription)."""
        return self.ttl_seconds > 0 and (self._redis is None or self._subscribed.is_set())

    def cached(self, presented: str) -> Participant | None:
        """The participant of a key verified recently, from memory; None when it must be
        verified (no database work here: async handlers call it on the event loop)."""
        entry = self._entries.get(_key_id(presented))
        if (
            entry is not None
            and hmac.compare_digest(entry.digest, hashlib.sha256(presented.encode()).digest())
            and entry.expires_at > self._clock()
        ):
            self.hits += 1
            return entry.participant
        return None

    def authenticate(self, presented: str, verify: Callable[[str], Participant]) -> Participant:
        """The participant of a live key: from memory when verified recently, else `verify`."""
        known = self.cached(presented)
        if known is not None:
            return known
        key_id = _key_id(presented)
        digest = hashlib.sha256(presented.encode()).digest()
        generation = self._generation
        participant = verify(presented)
        if self.caching:
            with self._lock:
                if generation == self._generation:
                    expires_at = self._clock() + self.ttl_seconds
                    self._entries[key_id] = _Entry(digest, participant, expires_at)
        return participant

    def evict(self, *, key_ids: Iterable[str] = (), participant_ids: Iterable[str] = ()) -> None:
        """Forget the given keys and every key of the given participants (this process only)."""
        people = set(participant_ids)
        with self._lock:
            self._generation += 1
            for key_id in key_ids:
                self._entries.pop(key_id, None)
            if people:
                for key_id, entry in list(self._entries.items()):
                    if entry.participant.id in people:
                        del self._entries[key_id]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def start(self) -> None:
        """Evict on commits to this database; with Redis, also on other processes' commits."""
        event.listen(OrmSession, "after_commit", self._after_commit)
        if self._redis is not None and self._listener is None:
            self._stop.clear()
            self._listener = threading.Thread(
                target=self._listen, name="api-key-cache", daemon=True
            )
            self._listener.start()

    def stop(self) -> None:
        if event.contains(OrmSession, "after_commit", self._after_commit):
            event.remove(OrmSession, "after_commit", self._after_commit)
        self._stop.set()
        if self._listener is not None:
            self._listener.join(5.0)
            self._listener = None
        self._subscribed.clear()
        self.clear()

    def wait_subscribed(self, timeout: float) -> bool:
        """Block until the Redis subscription is live (True at once without Redis)."""
        return self._redis is None or self._subscribed.wait(timeout)

    def _after_commit(self, session: OrmSession) -> None:
        if not db.bound_to(session, self._db):
            return
        changed = session.info.pop(_CHANGED, None)
        if not changed or not (changed[0] or changed[1]):
            return
        keys, people = changed
        self.evict(key_ids=keys, participant_ids=people)
        if self._redis is not None:
            message = json.dumps({"key_ids": sorted(keys), "participant_ids": sorted(people)})
            try:
                self._redis.publish(self.channel, message)
            except Exception as exc:
                # Other processes then see the change when their entries expire (ttl_seconds).
                log.warning("API key eviction not broadcast: %s", type(exc).__name__)

    def _listen(self) -> None:
        while self._redis is not None and not self._stop.is_set():
            pubsub = self._redis.pubsub()
            try:
                pubsub.subscribe(self.channel)
                self._await_confirmation(pubsub)
                # Anything published while unsubscribed is lost: start from an empty cache.
                self.clear()
                self._subscribed.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message is not None and message["type"] == "message":
                        self._apply(message["data"])
            except Exception as exc:
                self._subscribed.clear()
                self.clear()
                log.warning("API key cache off until Redis answers: %s", type(exc).__name__)
                self._stop.wait(1.0)
            finally:
                self._subscribed.clear()
                pubsub.close()

    def _await_confirmation(self, pubsub: Any) -> None:
        """Wait until Redis confirmed the subscription: only then are later messages seen."""
        for _ in range(20):
            message = pubsub.get_message(timeout=0.5)
            if message is not None and message["type"] == "subscribe":
                return
            if self._stop.is_set():
                return
        raise ConnectionError("no subscription confirmation from Redis")

    def _apply(self, data: bytes | str) -> None:
        try:
            change = json.loads(data)
            self.evict(key_ids=change["key_ids"], participant_ids=change["participant_ids"])
        except (ValueError, KeyError, TypeError):
            self.clear()
