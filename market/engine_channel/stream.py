"""The engine channel through Redis: a stream is the command log, each answer a list of its own.

A worker appends a command to the stream `<prefix>:engine:commands` (XADD) with the key its
answer goes to, and waits on that key (BLPOP, with a timeout). The owner reads the stream in a
consumer group (XREADGROUP), hands each command to the order desk, pushes the answer (LPUSH,
with a TTL so an answer nobody waits for expires) and only then acknowledges the entry (XACK).
An owner that dies between its commit and its XACK leaves the entry pending: the next owner,
reading under the same consumer name, is given it again first, and the handler answers it from
the stored result (market/engine_channel/handler.py) instead of applying it twice.
"""

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis

from market.engine_channel.codec import EngineChannelUnavailable, dumps, loads

log = logging.getLogger("datamarket.engine_channel")
GROUP = "engine-owner"
CONSUMER = "owner"
REPLY_TTL_SECONDS = 120
READ_COUNT = 256
READ_BLOCK_MS = 500
# Entries kept in the stream (approximately): the log's tail for inspection, not its history.
STREAM_MAXLEN = 100_000


def stream_key(prefix: str) -> str:
    return f"{prefix}:engine:commands"


class StreamChannelServer:
    """Reads commands from the stream in a consumer group and answers each one."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        handle: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        threads: int = 32,
    ) -> None:
        self._redis = client
        self._stream = stream_key(prefix)
        self._handle = handle
        self._threads = threads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        try:
            self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="engine-stream")
        # What an earlier owner took but never acknowledged is answered before anything new.
        for _ in range(1_000):
            pending = self._read("0", block=None)
            if not pending:
                break
            self._answer_all(pending)
        self._thread = threading.Thread(target=self._run, name="engine-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                entries = self._read(">", block=READ_BLOCK_MS)
            except redis.RedisError as exc:
                log.warning("engine stream read failed (%s); retrying", type(exc).__name__)
                self._stop.wait(1.0)
                continue
            self._answer_all(entries)

    def _read(self, start: str, *, block: int | None) -> list[tuple[bytes, dict[bytes, bytes]]]:
        found: Any = self._redis.xreadgroup(
            GROUP, CONSUMER, {self._stream: start}, count=READ_COUNT, block=block
        )
        entries: list[tuple[bytes, dict[bytes, bytes]]] = []
        for _, stream_entries in found or []:
            entries.extend(stream_entries)
        return entries

    def _answer_all(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        pool = self._pool
        if pool is None:
            return
        # All at once, so the sequencer can commit them in few transactions.
        for future in [pool.submit(self._answer, *entry) for entry in entries]:
            future.result()

    def _answer(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        try:
            message = loads(fields[b"message"])
            reply_to = fields[b"reply_to"].decode()
        except (KeyError, TypeError, ValueError, UnicodeDecodeError):
            log.warning("engine stream entry %s is not a command; acknowledged", entry_id)
            self._redis.xack(self._stream, GROUP, entry_id)
            return
        answer = self._handle(message)
        try:
            with self._redis.pipeline() as pipe:
                pipe.lpush(reply_to, dumps(answer))
                pipe.expire(reply_to, REPLY_TTL_SECONDS)
                pipe.xack(self._stream, GROUP, entry_id)
                pipe.execute()
        except redis.RedisError as exc:
            # Unacknowledged: the entry is given again on restart and answered from the store.
            log.warning("engine stream answer not delivered: %s", type(exc).__name__)


class StreamChannelClient:
    """A worker's side: append the command, wait for its answer on a key of its own."""

    def __init__(self, client: redis.Redis, prefix: str, timeout_seconds: float) -> None:
        self._redis = client
        self._stream = stream_key(prefix)
        self._replies = f"{prefix}:engine:reply:"
        self.timeout = timeout_seconds

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        reply_to = self._replies + uuid.uuid4().hex
        try:
            self._redis.xadd(
                self._stream,
                {"message": dumps(message), "reply_to": reply_to},
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            popped = self._redis.blpop([reply_to], timeout=self.timeout)
        except redis.RedisError:
            raise EngineChannelUnavailable(
                "Redis, which carries commands to the matching engine, is not reachable; "
                "retry with the same Idempotency-Key (or client_order_id)"
            ) from None
        if popped is None:
            raise EngineChannelUnavailable(
                f"the engine owner did not answer within {self.timeout:g} s; the order may or "
                "may not have been taken: retry with the same Idempotency-Key (or "
                "client_order_id) to find out"
            )
        return loads(popped[1])

    def close(self) -> None:
        self._redis.close()
