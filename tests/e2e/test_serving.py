"""How the market is served (issue 9, item 10): TLS from `datamarket serve`, and forwarded headers
believed only from configured proxies."""

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.app import create_app
from api.serving import uvicorn_options
from market.ratelimit import RateLimit
from market.settings import Settings
from tests.e2e.conftest import _free_port


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


def test_serve_speaks_tls_with_the_given_certificate(tmp_path: Path) -> None:
    certfile, keyfile = _self_signed(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "DATAMARKET_DATA_DIR": str(tmp_path / "var"),
        "DATAMARKET_DATABASE_URL": "",
        "DATAMARKET_REDIS_URL": "",
        "DATAMARKET_ENVIRONMENT": "development",
    }
    command = [sys.executable, "-m", "datamarket", "serve", "--port", str(port)]
    command += ["--ssl-certfile", str(certfile), "--ssl-keyfile", str(keyfile)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    trust = ssl.create_default_context(cafile=str(certfile))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[0].decode()[-2000:]
            try:
                response = httpx.get(f"https://127.0.0.1:{port}/health", verify=trust, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the market did not start serving HTTPS"
                time.sleep(0.3)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert response.status_code == 200
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "server" not in response.headers


@contextmanager
def _served(settings: Settings) -> Iterator[str]:
    """The app served as `datamarket serve` serves it (same uvicorn options)."""
    port = _free_port()
    options = uvicorn_options(settings, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _register_from(url: str, addresses: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return [
            client.post(
                "/participants",
                json={"name": f"From {address}", "kind": "business"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for address in addresses
        ]


ADDRESSES = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]


def test_a_client_cannot_choose_its_address_with_x_forwarded_for(settings: Settings) -> None:
    limited = settings.model_copy(
        update={"rate_limit_registration": RateLimit(per_second=0.001, burst=2)}
    )
    with _served(limited) as url:
        assert _register_from(url, ADDRESSES) == [201, 201, 429]


def test_forwarded_for_is_believed_from_a_configured_proxy(settings: Settings) -> None:
    behind_proxy = settings.model_copy(
        update={
            "rate_limit_registration": RateLimit(per_second=0.001, burst=2),
            "forwarded_allow_ips": "127.0.0.1",
        }
    )
    with _served(behind_proxy) as url:
        assert _register_from(url, ADDRESSES) == [201, 201, 201]
