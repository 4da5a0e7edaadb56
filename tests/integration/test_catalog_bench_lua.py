"""catalog.lua under wrk against a loopback server: key and query arrive, non-200s are counted."""

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench.catalog.served import time_with_wrk

TARGET = "/listings?q=%E6%9D%B1%E4%BA%AC&sort=quality"


class _Listings(BaseHTTPRequestHandler):
    """200 for the expected key and target, 404 for any other path, 401 without the key."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[set[tuple[str, str | None]]] = set()

    def do_GET(self) -> None:
        authorization = self.headers.get("Authorization")
        self.seen.add((self.path, authorization))
        status = 200 if self.path.startswith("/listings") else 404
        if authorization != "Bearer secret-key":
            status = 401
        body = b"[]"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def server_url() -> Iterator[str]:
    _Listings.seen.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Listings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        pytest.skip("wrk is not installed (datamarket bench catalog installs it with apt-get)")
    return found


def test_every_answer_200_passes_and_the_request_carries_key_and_query(
    wrk: str, server_url: str
) -> None:
    figures = time_with_wrk(wrk, server_url, TARGET, "secret-key", seconds=1)
    assert "failed" not in figures
    assert figures["requests"] > 0
    assert figures["non_200"] == 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert _Listings.seen == {(TARGET, "Bearer secret-key")}


def test_answers_other_than_200_fail_the_query(wrk: str, server_url: str) -> None:
    figures = time_with_wrk(wrk, server_url, "/missing", "secret-key", seconds=1)
    assert figures["non_200"] == figures["requests"] > 0
    assert "answers other than 200" in figures["failed"]
