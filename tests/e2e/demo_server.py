"""`datamarket serve --demo` in its own process, as `make run` starts it, for tests over HTTP."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_env() -> dict[str, str]:
    """The environment of `make run`: the data folder `var` under the working directory."""
    env = {**os.environ, "DATAMARKET_DATA_DIR": "var", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("DATAMARKET_DATABASE_URL", None)
    return env


@contextmanager
def serving_demo(cwd: Path, output: Path, *, timeout: float = 90) -> Iterator[str]:
    """Serve the demo market from `cwd`, its standard output into `output` (its log beside it,
    in `<output>.log`); yields its base URL."""
    port = free_port()
    with output.open("w") as out, output.with_suffix(".log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "datamarket", "serve", "--demo", "--port", str(port)],
            cwd=cwd,
            env=demo_env(),
            stdout=out,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, output.with_suffix(
                ".log"
            ).read_text()
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
