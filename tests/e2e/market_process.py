"""The market on a loopback port: a `datamarket serve` process to kill, or a server thread."""

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from market.settings import Settings, get_settings
from tests.e2e.demo_server import free_port


def serve(settings: Settings, port: int, log: Path) -> BaseProcess:
    """Run `datamarket serve` on `port` with `settings`' database; wait until it answers /health.

    The server is a forked child of this process, which has already imported the market: a
    fresh interpreter would spend seconds importing it again. The child runs the command line
    itself (`datamarket.cli`), reads its settings from the environment as `serve` does, and
    writes its output to `log`.
    """
    env = {
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_DATABASE_URL": settings.resolved_database_url,
        "DATAMARKET_MASTER_KEY": "11" * 32,
        "DATAMARKET_ENVIRONMENT": "test",
    }
    server = multiprocessing.get_context("fork").Process(
        target=_serve_command, args=(port, env, log), daemon=True
    )
    server.start()
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert server.is_alive() and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _serve_command(port: int, env: dict[str, str], log: Path) -> None:
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(out, 1)
    os.dup2(out, 2)
    # The test runner may have replaced the standard streams; the server writes to the log.
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.update(env)
    get_settings.cache_clear()
    from datamarket import cli  # here: importing typer warns, and only the child needs it

    cli.app(["serve", "--port", str(port)], standalone_mode=False)


def stop(server: BaseProcess, sig: signal.Signals = signal.SIGTERM) -> None:
    """Send `sig` and wait for the process to end (killed outright after 30 seconds)."""
    if server.is_alive() and server.pid is not None:
        os.kill(server.pid, sig)
    server.join(timeout=30)
    if server.is_alive():
        server.kill()
        server.join(timeout=10)


@contextmanager
def served_in_process(settings: Settings) -> Iterator[str]:
    """The market served by uvicorn in a thread of this process; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the market did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
