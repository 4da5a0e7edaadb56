"""A live market served by uvicorn on a loopback port, for tests over real HTTP."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from api.app import create_app
from market.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the market server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def http(live_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_url, timeout=30) as client:
        yield client


@pytest.fixture
def operator_key(live_url: str, settings: Settings) -> str:
    """An operator's API key, registered straight in the live market's (migrated) database."""
    from market import db
    from market.participants import register_participant

    engine = db.make_engine(settings.resolved_database_url)
    try:
        with db.unit_of_work(engine) as session:
            _, key = register_participant(session=session, name="Ops", kind="operator")
    finally:
        engine.dispose()
    return key
