"""Hostile clients over real HTTP (issue 9, items 1, 2 and 12): each probe that once stalled or
fooled the server, kept as a test. Raw sockets where the defect is in how a body arrives."""

import fcntl
import select
import socket
import struct
import termios
import time
from urllib.parse import urlparse

import httpx
import pytest
from sqlmodel import Session
from sqlmodel import select as sql_select

from market.db import make_engine
from market.models import Dataset
from market.settings import Settings
from tests.e2e.test_market_slice import auth, register, upload

PROBLEM = "application/problem+json"
UPLOAD_CAP = 200_000


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """HTTP behaviour does not depend on the database: SQLite only."""
    return sqlite_url


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_upload_bytes": UPLOAD_CAP,
            "request_body_idle_timeout_seconds": 1.0,
            "rate_limits_enabled": False,
        }
    )


def _connect(live_url: str) -> socket.socket:
    url = urlparse(live_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=15)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one response; the socket's timeout turns a server that never answers into an error."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _unsent_bytes(sock: socket.socket) -> int:
    """Bytes still in this socket's send queue (Linux TIOCOUTQ): 0 once the server has them all."""
    return int(struct.unpack("I", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0\0\0\0"))[0])


def _stored_datasets(settings: Settings) -> list[object]:
    """Dataset rows and stored blobs (read beside the running server, which owns the engine)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with Session(engine) as session:
            rows: list[object] = list(session.exec(sql_select(Dataset)))
    finally:
        engine.dispose()
    objects = settings.data_dir / "objects"
    blobs = [path for path in objects.rglob("*") if path.is_file()] if objects.exists() else []
    return rows + blobs


def test_health_answers_while_an_upload_is_being_processed(
    http: httpx.Client, live_url: str, settings: Settings
) -> None:
    key = register(http, "Wide sensors")
    header = ",".join(f"sensor_{i:03d}" for i in range(300))
    rows = "\n".join(",".join(str((r * 7 + c) % 97) for c in range(300)) for r in range(40))
    request = http.build_request(
        "POST",
        "/datasets",
        headers=auth(key),
        data={"title": "Wide", "category": "iot.wide", "data_class": "non_personal"},
        files={"file": ("wide.csv", f"{header}\n{rows}\n".encode(), "text/csv")},
    )
    body = request.read()
    head = f"POST /datasets HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n"
    for name in ("authorization", "content-type"):
        head += f"{name}: {request.headers[name]}\r\n"
    with _connect(live_url) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        while _unsent_bytes(sock):
            time.sleep(0.01)
        # The whole upload is with the server, which now parses and checks it. With the work on
        # the event loop, no other request was answered until it finished.
        answered_meanwhile = 0
        while not select.select([sock], [], [], 0)[0]:
            assert http.get("/health").status_code == 200
            if not select.select([sock], [], [], 0)[0]:
                answered_meanwhile += 1
        status, _, _ = _read_response(sock)
    assert status == 201
    # Before the fix 2 probes slipped in while the body was still being read; after, over 100.
    assert answered_meanwhile >= 20


def test_wide_upload_is_refused_by_the_column_cap(http: httpx.Client, settings: Settings) -> None:
    key = register(http, "Very wide sensors")
    raw = (",".join(f"c{i}" for i in range(5_000)) + "\n" + ",".join(["1"] * 5_000) + "\n").encode()
    response = upload(http, key, raw)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert "over the 1,000-column limit" in response.json()["detail"]
    assert _stored_datasets(settings) == []


def test_a_claimed_huge_body_is_refused_before_it_is_read(
    http: httpx.Client, live_url: str, settings: Settings
) -> None:
    key = register(http, "Claims a lot")
    with _connect(live_url) as sock:
        sock.sendall(
            b"POST /datasets HTTP/1.1\r\nHost: test\r\n"
            + f"Authorization: Bearer {key}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=x\r\n"
            + b"Content-Length: 1073741824\r\n\r\n"
            + b"--x\r\n" * 40
        )
        status, headers, body = _read_response(sock)
        assert sock.recv(1) == b""  # and the connection is closed, not kept waiting
    assert status == 413
    assert headers["content-type"] == PROBLEM
    assert b"1,073,741,824 bytes" in body
    assert _stored_datasets(settings) == []


def test_an_over_limit_stream_is_cut_off_at_the_limit(
    http: httpx.Client, live_url: str, settings: Settings
) -> None:
    """No Content-Length (chunked): the server stops reading at the limit, not at the end."""
    key = register(http, "Streams a lot")
    total = 64 * 1024 * 1024
    chunk = b"a,b\n" + b"1,2\n" * 16383
    sent = 0
    status = None
    with _connect(live_url) as sock:
        sock.sendall(
            b"POST /datasets HTTP/1.1\r\nHost: test\r\n"
            + f"Authorization: Bearer {key}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=x\r\n"
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        preamble = (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(preamble), preamble))
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = _read_response(sock)
    assert status == 413
    assert b"accepts at most" in body
    assert sent < total // 4
    assert _stored_datasets(settings) == []


def test_a_stalled_body_times_out(live_url: str, settings: Settings) -> None:
    with _connect(live_url) as sock:
        sock.sendall(
            b"POST /participants HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"name": "'
        )
        status, headers, body = _read_response(sock)
    assert status == 408
    assert headers["content-type"] == PROBLEM
    assert b"stopped arriving" in body


def test_formula_cells_are_delivered_as_stored_with_a_note_or_prefixed_on_request(
    http: httpx.Client,
) -> None:
    seller = register(http, "Formula sensors")
    raw = "site,reading,flag\nA,-5,=1+2\nB,+81,@SUM(1)\nC,3,\tpad\n"
    dataset = upload(http, seller, raw.encode())
    assert dataset.status_code == 201, dataset.text
    url = f"/datasets/{dataset.json()['id']}/download"

    as_stored = http.get(url, headers=auth(seller))
    assert as_stored.status_code == 200
    assert as_stored.text == raw
    assert as_stored.headers["x-formula-cells"].startswith("3 cells begin with")

    safe = http.get(url, params={"excel_safe": 1}, headers=auth(seller))
    assert safe.text.splitlines()[1:] == [
        "A,-5,'=1+2",
        "B,+81,'@SUM(1)",
        "C,3,'\tpad",
    ]

    plain = upload(http, seller, b"site,reading\nA,-5\nB,+81\n", title="Plain")
    plain_download = http.get(f"/datasets/{plain.json()['id']}/download", headers=auth(seller))
    assert "x-formula-cells" not in plain_download.headers
