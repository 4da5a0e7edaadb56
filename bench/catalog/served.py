"""The catalog's named requests against the market's real server, timed by wrk.

After the in-process timings (bench/catalog/run.py), the same seeded database is served by
`datamarket serve` (one worker, rate limits off, as `datamarket bench http` serves the market:
its `serving`, `ensure_wrk`, `_free_port` and `_market_env` are reused), and each request is
sent by wrk over loopback at concurrency 1 (one connection, one thread) for a fixed number of
seconds through `catalog.lua`, which sets the API key and the query string and counts every
answer other than 200. No Python client is in the timed path: the figures are the server's
(routing, authentication, the query, serialization, HTTP) plus loopback and wrk. Beside them,
the server process's CPU time per request (user plus system, from /proc; Linux only).
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.http.run import _free_port, _market_env, ensure_wrk, serving
from market.settings import Settings

SCRIPT = Path(__file__).parent / "catalog.lua"
WARMUP = 20  # untimed requests per query first, as in process: caches and plan caches


def parse_wrk_output(stdout: str) -> dict[str, Any]:
    """The figures of catalog.lua's `BENCH {...}` line: counts, requests/s, latency in ms."""
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise ValueError(f"wrk printed no BENCH line: {stdout[-300:]!r}")
    raw = json.loads(line.removeprefix("BENCH "))
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "per_second": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "non_200": raw["non_200"],
        "socket_errors": raw["socket_errors"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


def time_with_wrk(wrk: str, url: str, target: str, key: str, seconds: int) -> dict[str, Any]:
    """One wrk run of GET `target` at concurrency 1; `failed` says why when not every answer was 200."""
    completed = subprocess.run(
        [wrk, "-t1", "-c1", f"-d{seconds}s", "--timeout", "30s", "-s", str(SCRIPT), url],
        env={**os.environ, "BENCH_TARGET": target, "BENCH_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    )
    figures = parse_wrk_output(completed.stdout)
    if figures["non_200"] or figures["socket_errors"] or not figures["requests"]:
        figures["failed"] = (
            f"{figures['non_200']} answers other than 200 and {figures['socket_errors']} "
            f"socket errors in {figures['requests']} requests"
        )
    return figures


def _target(client: httpx.Client, path: str, params: dict[str, Any]) -> str:
    """The path and query wrk sends; page 2 takes its cursor from one first request."""
    if params.pop("after_first_page", False):
        first = client.get(path, params=params)
        first.raise_for_status()
        params["cursor"] = first.headers["X-Next-Cursor"]
    return f"{path}?{urlencode(params)}" if params else path


def _server_pid(port: int) -> int | None:
    """The pid of this process's child serving on `port` (Linux /proc); None elsewhere."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and b"serve" in arguments and str(port).encode() in arguments:
            return int(entry.name)
    return None


def _cpu_seconds(pid: int | None) -> float:
    """User plus system CPU time of a process so far (proc(5): utime, stime), 0 without one."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_served(
    *, settings: Settings, key: str, named: dict[str, dict[str, Any]], seconds: int
) -> dict[str, dict[str, Any]]:
    """Serve the seeded database of `settings`; time each named request with wrk for `seconds`."""
    wrk = ensure_wrk()
    folder = settings.data_dir.parent
    env = {
        **_market_env(folder, settings.database_url),
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_MASTER_KEY": settings.master_key or "",
    }
    port = _free_port()
    log = folder / "served.log"
    command = [sys.executable, "-m", "datamarket", "serve", "--port", str(port)]
    figures: dict[str, dict[str, Any]] = {}
    try:
        with (
            serving(command, env, port, log) as url,
            httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as client,
        ):
            server = _server_pid(port)
            for name, params in named.items():
                target = _target(client, params.pop("path", "/listings"), params)
                statuses = {client.get(target).status_code for _ in range(WARMUP)}
                if statuses != {200}:
                    figures[name] = {"failed": f"warm-up answered {sorted(statuses)}"}
                    continue
                cpu_before = _cpu_seconds(server)
                figures[name] = one = time_with_wrk(wrk, url, target, key, seconds)
                if server is not None and one["requests"]:
                    used_ms = (_cpu_seconds(server) - cpu_before) * 1000
                    one["server_cpu_ms"] = round(used_ms / one["requests"], 2)
    except SystemExit:
        # The temporary folder goes with the run: show why the server stopped.
        if log.exists():
            print(log.read_text(errors="replace")[-2_000:], file=sys.stderr)
        raise
    return figures


def describe_served(figures: dict[str, Any]) -> str:
    """One line of a served request's figures, or why it failed."""
    if "failed" in figures:
        return f"served: FAILED ({figures['failed']})"
    return (
        f"served p50 {figures['p50_ms']:>7.2f} ms  p99 {figures['p99_ms']:>7.2f} ms"
        f"  p99.9 {figures['p999_ms']:.1f} ms  max {figures['max_ms']:.1f} ms"
        f"  ({figures['requests']:,} requests, {figures['per_second']:,}/s)"
        + (f"  server cpu {figures['server_cpu_ms']} ms" if "server_cpu_ms" in figures else "")
    )
