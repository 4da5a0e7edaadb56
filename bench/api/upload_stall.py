"""Upload stall: `/health` latency while the largest allowed CSV uploads are being parsed.

The market runs as `datamarket serve` in its own process (so the probe's own work never shares
the server's interpreter lock), with rate limits off. One thread uploads the file again and
again; the main thread asks `/health` every PROBE_INTERVAL seconds, and only answers to probes
sent while an upload was in flight are counted.

Shapes, from the market's default caps:
- `wide`: the most columns allowed, a header at the header-size cap, and 50 data rows;
- `big`: 20 columns and as many rows as fit under the upload-size cap.
"""

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from market.settings import Settings

PROBE_INTERVAL = 0.02
BIG_COLUMNS = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_csv(columns: int, rows: int, header_bytes: int | None = None) -> bytes:
    """A sensor table: `columns` numeric columns, the header padded to about `header_bytes`."""
    width = 8
    if header_bytes is not None:
        width = max(8, header_bytes // columns - 1)
    header = ",".join(f"s{i:0{width - 1}d}" for i in range(columns))
    lines = [header]
    for row in range(rows):
        lines.append(",".join(str((row * 31 + col * 7) % 997) for col in range(columns)))
    return ("\n".join(lines) + "\n").encode()


def shape_csv(shape: str, columns: int | None, rows: int | None) -> bytes:
    caps = Settings()
    if shape == "wide":
        return make_csv(
            columns or caps.max_csv_columns, rows or 50, header_bytes=caps.max_csv_header_bytes
        )
    sample = make_csv(columns or BIG_COLUMNS, 100)
    per_row = len(sample) / 101
    fitting = int((caps.max_upload_bytes - 1024) / per_row)
    return make_csv(columns or BIG_COLUMNS, rows or fitting)[: caps.max_upload_bytes]


def _start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATAMARKET_DATA_DIR": str(data_dir),
        "DATAMARKET_ENVIRONMENT": "development",
        "DATAMARKET_DATABASE_URL": "",
        "DATAMARKET_REDIS_URL": "",
        "DATAMARKET_RATE_LIMITS_ENABLED": "false",
    }
    command = [sys.executable, "-m", "datamarket", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the market server exited during start-up")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the market server did not start within 60 s")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def baseline(base: str, seconds: float = 10.0) -> dict[str, Any]:
    """/health latency with no upload running, on the same machine at the same time (ms)."""
    latencies: list[float] = []
    with httpx.Client(base_url=base, timeout=30) as probe:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            probe.get("/health").raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(PROBE_INTERVAL)
    return {
        "idle_p50_ms": round(statistics.median(latencies), 1),
        "idle_p99_ms": round(_percentile(latencies, 0.99), 1),
    }


def measure(base: str, raw: bytes, uploads: int) -> dict[str, Any]:
    """Upload `raw` `uploads` times in a thread while probing /health; latencies in ms."""
    key = httpx.post(
        f"{base}/participants", json={"name": "Bench sensors", "kind": "business"}, timeout=30
    ).json()["api_key"]
    in_flight = threading.Event()
    done = threading.Event()
    upload_seconds: list[float] = []
    statuses: list[int] = []

    def uploader() -> None:
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(uploads):
                in_flight.set()
                start = time.perf_counter()
                response = client.post(
                    "/datasets",
                    headers={"Authorization": f"Bearer {key}"},
                    data={"title": "Bench", "category": "iot.bench", "data_class": "non_personal"},
                    files={"file": ("bench.csv", raw, "text/csv")},
                )
                upload_seconds.append(time.perf_counter() - start)
                statuses.append(response.status_code)
                in_flight.clear()
        done.set()

    latencies: list[float] = []
    thread = threading.Thread(target=uploader, daemon=True)
    with httpx.Client(base_url=base, timeout=120) as probe:
        thread.start()
        while not done.is_set():
            if not in_flight.is_set():
                time.sleep(0.001)
                continue
            start = time.perf_counter()
            probe.get("/health").raise_for_status()
            elapsed = time.perf_counter() - start
            if in_flight.is_set():
                latencies.append(elapsed * 1000)
            time.sleep(PROBE_INTERVAL)
    thread.join()
    return {
        "probes": len(latencies),
        "health_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "health_p99_ms": round(_percentile(latencies, 0.99), 1) if latencies else None,
        "health_max_ms": round(max(latencies), 1) if latencies else None,
        "upload_seconds": [round(s, 2) for s in upload_seconds],
        "upload_statuses": statuses,
    }


def main(
    shape: str, columns: int | None, rows: int | None, uploads: int, as_json: bool
) -> dict[str, Any]:
    raw = shape_csv(shape, columns, rows)
    header_bytes = raw.index(b"\n")
    column_count = raw[:header_bytes].count(b",") + 1
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        server = _start_server(Path(folder), port)
        try:
            _wait_ready(base, server)
            figures = {**baseline(base), **measure(base, raw, uploads)}
        finally:
            server.terminate()
            server.wait(timeout=30)
    figures = {
        "shape": shape,
        "file_bytes": len(raw),
        "columns": column_count,
        "header_bytes": header_bytes,
        **figures,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    for name, value in figures.items():
        print(f"{name:>16}: {value}")
    if as_json:
        print(json.dumps(figures))
    return figures
