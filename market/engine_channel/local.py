"""The local engine channel: a Unix socket beside the data, authenticated with a shared key.

`multiprocessing.connection` does the framing and the HMAC challenge on connect (the key is a
random file, mode 0600, in the data folder, written by the owner); the messages themselves are
JSON bytes (market/engine_channel/codec.py), so nothing received is unpickled. The owner answers
each connection in a thread of its own; the order desk's sequencer batches what the threads
hand it, as it does for HTTP request threads.
"""

import contextlib
import logging
import os
import queue
import secrets
import socket
import threading
from collections.abc import Callable
from multiprocessing.connection import Client, Connection, Listener
from pathlib import Path
from typing import Any

from market.engine_channel.codec import EngineChannelUnavailable, dumps, loads

log = logging.getLogger("datamarket.engine_channel")
KEY_BYTES = 32
# Longest Unix socket path (sun_path is 108 bytes on Linux, with its terminating NUL).
MAX_SOCKET_PATH = 107


def owner_key(path: Path) -> bytes:
    """The channel's key, written (mode 0600) when absent; the owner calls this at start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES))
    return read_key(path)


def read_key(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        raise EngineChannelUnavailable(
            f"the engine channel key {path} is missing or unreadable: start the engine owner "
            "(datamarket serve) with the same data folder first"
        ) from None


def _check_path(path: Path) -> str:
    address = str(path)
    if len(address.encode()) > MAX_SOCKET_PATH:
        raise ValueError(
            f"the engine channel socket path {address} is longer than {MAX_SOCKET_PATH} bytes; "
            "set DATAMARKET_ENGINE_CHANNEL_SOCKET to a shorter path"
        )
    return address


class LocalChannelServer:
    """Accepts worker connections on a Unix socket and answers each message with `handle`."""

    def __init__(
        self, path: Path, key: bytes, handle: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> None:
        self.path = path
        self._key = key
        self._handle = handle
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[Connection] = set()
        self._guard = threading.Lock()

    def start(self) -> None:
        address = _check_path(self.path)
        # Only the engine owner serves, and it holds the single-owner lock: a socket file left
        # here belongs to an owner that is gone.
        self.path.unlink(missing_ok=True)
        self._listener = Listener(address, family="AF_UNIX", authkey=self._key)
        os.chmod(address, 0o600)
        self._thread = threading.Thread(target=self._accept, name="engine-channel", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            _wake_accept(listener)
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        # Workers see their connection close (503 to their clients) rather than wait on it.
        with self._guard:
            connections, self._connections = self._connections, set()
        for connection in connections:
            _hang_up(connection)
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while (listener := self._listener) is not None:
            try:
                connection = listener.accept()
            except OSError:
                if self._listener is None:
                    return  # closed by stop()
                continue  # a client that failed the key challenge, or hung up at once
            except Exception as exc:  # multiprocessing.AuthenticationError
                log.warning("engine channel connection refused: %s", type(exc).__name__)
                continue
            threading.Thread(
                target=self._serve, args=(connection,), name="engine-channel-conn", daemon=True
            ).start()

    def _serve(self, connection: Connection) -> None:
        with self._guard:
            self._connections.add(connection)
        with connection:
            while self._listener is not None:
                try:
                    data = connection.recv_bytes()
                except (EOFError, OSError):
                    return
                try:
                    answer = self._handle(loads(data))
                except ValueError:
                    return  # not a channel message: drop the connection
                try:
                    connection.send_bytes(dumps(answer))
                except OSError:
                    return


class LocalChannelClient:
    """A worker's side: a pool of connections, one message and its answer at a time on each."""

    def __init__(self, path: Path, key_path: Path, timeout_seconds: float) -> None:
        self.path = path
        self.key_path = key_path
        self.timeout = timeout_seconds
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        data = dumps(message)
        connection, reused = self._idle_connection(), True
        if connection is None:
            connection, reused = self._connect(), False
        try:
            try:
                connection.send_bytes(data)
            except OSError:
                connection.close()
                if not reused:
                    raise
                # An idle connection the owner closed (it restarted): nothing was sent on it.
                connection = self._connect()
                connection.send_bytes(data)
            if not connection.poll(self.timeout):
                connection.close()
                raise EngineChannelUnavailable(_no_answer(self.timeout))
            answer = loads(connection.recv_bytes())
        except (EOFError, OSError):
            connection.close()
            raise EngineChannelUnavailable(_no_answer(None)) from None
        self._idle.put(connection)
        return answer

    def _idle_connection(self) -> Connection | None:
        """A pooled connection the owner has not hung up (an idle one has nothing to read)."""
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return None
            try:
                if not connection.poll(0):
                    return connection
            except OSError:
                pass
            connection.close()

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _connect(self) -> Connection:
        key = read_key(self.key_path)
        try:
            return Client(_check_path(self.path), family="AF_UNIX", authkey=key)
        except (OSError, EOFError):
            raise EngineChannelUnavailable(
                "the engine owner is not running (no engine channel at the configured socket); "
                "start it, then retry"
            ) from None
        except Exception:  # multiprocessing.AuthenticationError: a key from another owner
            raise EngineChannelUnavailable(
                "the engine owner refused this worker's channel key; restart the workers "
                "after the owner"
            ) from None


def _wake_accept(listener: Listener) -> None:
    """Shut the listening socket down, which wakes the thread blocked in its accept() at once
    (on Linux, closing it would not: `stop` then waited its whole join timeout)."""
    sock = getattr(getattr(listener, "_listener", None), "_socket", None)
    if sock is None:
        return  # another implementation of Listener: the join timeout still ends the wait
    with contextlib.suppress(OSError):  # already shut
        sock.shutdown(socket.SHUT_RDWR)


def _hang_up(connection: Connection) -> None:
    """Shut the socket down, which wakes the thread reading it (closing it would not)."""
    try:
        with socket.socket(fileno=os.dup(connection.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _no_answer(timeout: float | None) -> str:
    when = f"within {timeout:g} s" if timeout is not None else "(the connection broke)"
    return (
        f"the engine owner did not answer {when}; the order may or may not have been taken: "
        "retry with the same Idempotency-Key (or client_order_id) to find out"
    )
