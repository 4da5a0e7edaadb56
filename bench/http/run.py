"""HTTP order entry: the market under wrk against three ceilings, on SQLite and then PostgreSQL.

For each database: seed participants with credit, datasets, open asks on several instruments and
API keys (in process, through the market's own desks); serve the market (`datamarket serve`,
one process: the engine has one owner) and the ceilings app (`bench/http/ceiling.py`, the same
uvicorn with the same single worker) on loopback; then at each concurrency drive, one after the
other, the market's `/bids` with `orders.lua`, then with `ceiling.lua` the echo ceiling, the
one-commit ceiling and the sequenced ceiling (issue 14's design at its leanest: the floor of any
implementation of it on this stack). Afterwards every acknowledged bid must be stored as
acknowledged, every acknowledged cancel stored as cancelled, every acknowledged fill booked as trades, and
`datamarket settlement check` must pass. wrk is the client (a Python client on these two cores
would measure itself); it is installed with apt-get when missing.
"""

import importlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

HERE = Path(__file__).parent
MASTER_KEY = "22" * 32
PURPOSE = "research.statistics"
CATEGORIES = ("mobility.traffic", "energy.meter", "health.steps", "retail.pos")


def ensure_wrk() -> str:
    """The wrk binary, installed from Debian's package when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk not found: installing the Debian package 'wrk' with apt-get", file=sys.stderr)
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed (apt-get install wrk)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _market_env(folder: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAMARKET_")}
    env.update(
        DATAMARKET_ENVIRONMENT="test",
        DATAMARKET_DATA_DIR=str(folder / "var"),
        DATAMARKET_DATABASE_URL=database_url,
        DATAMARKET_MASTER_KEY=MASTER_KEY,
        DATAMARKET_RATE_LIMITS_ENABLED="false",
    )
    return env


def seed(
    env: dict[str, str], seed_path: Path, *, buyers: int, sellers: int, per_category: int
) -> None:
    """Participants with credit, datasets, open asks and API keys; written for the Lua script."""
    # Every table registered before the desks load (their import order is not cycle-free).
    importlib.import_module("market.models")
    from market.data.desk import DescribeDataset
    from market.events import InProcessBus
    from market.service import Market
    from market.settings import Settings
    from market.trading.commands import LicenceTerms, OfferLicences

    settings = Settings(
        _env_file=None,
        environment="test",
        data_dir=Path(env["DATAMARKET_DATA_DIR"]),
        database_url=env["DATAMARKET_DATABASE_URL"],
        master_key=MASTER_KEY,
        redis_url=None,
    )
    lines = [f"purpose {PURPOSE} -"]
    with Market(settings, bus=InProcessBus()) as market:
        owners = [
            market.accounts.register(name=f"Seller {i}", kind="business")[0] for i in range(sellers)
        ]
        for c, category in enumerate(CATEGORIES):
            lines.append(f"instrument {category}/non_personal -")
            for d in range(per_category):
                owner = owners[(c * per_category + d) % sellers]
                rows = "\n".join(f"S{c}{d}{r:03d},{r * 7 + d}" for r in range(20))
                dataset = market.data.upload_dataset(
                    seller=owner,
                    raw=f"sensor_id,reading\n{rows}\n".encode(),
                    about=DescribeDataset(
                        title=f"{category} {d}", category=category, data_class="non_personal"
                    ),
                )
                market.orders.offer_licences(
                    seller=owner,
                    offer=OfferLicences(
                        dataset_id=dataset.id,
                        terms=LicenceTerms(
                            price_yen=1_000 + 100 * d, allowed_purposes=["research"]
                        ),
                    ),
                    claim=None,
                )
        for i in range(buyers):
            buyer, key = market.accounts.register(
                name=f"Buyer {i}", kind="business", credit_limit_yen=10**12
            )
            lines.append(f"key {buyer.id} {key}")
    seed_path.write_text("\n".join(lines) + "\n")


@contextmanager
def serving(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    """Run a server until the block ends (SIGINT: a graceful stop); yields its base URL."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"server exited ({process.returncode}); see {log}")
            try:
                httpx.get(f"{url}/openapi.json", timeout=1.0)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(
    wrk: str, script: str, url: str, *, connections: int, seconds: int, env: dict[str, str]
) -> dict[str, Any]:
    """One wrk run; returns its figures (orders/s and latency percentiles in ms)."""
    threads = min(connections, 2)
    completed = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(HERE / script),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in completed.stdout.splitlines() if x.startswith("BENCH "))
    raw = json.loads(line.removeprefix("BENCH "))
    seconds_taken = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "per_second": round(raw["requests"] / seconds_taken, 1),
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
    }


def verify(database_url: str, env: dict[str, str], ack_files: list[Path]) -> dict[str, Any]:
    """Every acknowledgement against the database, then the ledger check."""
    placed: dict[str, tuple[str, int]] = {}
    cancelled: set[str] = set()
    errors: Counter[str] = Counter()
    for path in ack_files:
        for line in path.read_text().splitlines():
            kind, *rest = line.split()
            if kind == "P":
                placed[rest[0]] = (rest[1], int(rest[2]))
            elif kind == "C":
                cancelled.add(rest[0])
            else:
                errors[rest[0]] += 1
    engine = create_engine(database_url)
    stored: dict[str, tuple[str, int]] = {}
    trades = 0
    ids = sorted(set(placed) | cancelled)
    filled_ids = sorted(i for i, (_, filled) in placed.items() if filled)
    with engine.connect() as connection:
        for first in range(0, len(ids), 500):
            chunk = ids[first : first + 500]
            rows = connection.execute(
                text("SELECT id, status, filled FROM bid WHERE id IN :ids").bindparams(
                    _expanding("ids")
                ),
                {"ids": chunk},
            )
            stored.update({row.id: (row.status, row.filled) for row in rows})
        for first in range(0, len(filled_ids), 500):
            trades += connection.execute(
                text("SELECT count(*) FROM trade WHERE bid_id IN :ids").bindparams(
                    _expanding("ids")
                ),
                {"ids": filled_ids[first : first + 500]},
            ).scalar_one()
    engine.dispose()
    problems = []
    missing = [i for i in ids if i not in stored]
    if missing:
        problems.append(f"{len(missing)} acknowledged orders not stored")
    not_cancelled = [i for i in cancelled if stored.get(i, ("",))[0] != "cancelled"]
    if not_cancelled:
        problems.append(f"{len(not_cancelled)} acknowledged cancels not stored as cancelled")
    wrong_fill = [i for i, (_, f) in placed.items() if i in stored and stored[i][1] != f]
    if wrong_fill:
        problems.append(f"{len(wrong_fill)} bids stored with another fill than acknowledged")
    expected_trades = sum(f for _, f in placed.values())
    if trades != expected_trades:
        problems.append(f"{trades} trades booked for {expected_trades} acknowledged fills")
    check = subprocess.run(
        [sys.executable, "-m", "datamarket", "settlement", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        problems.append(f"settlement check: {check.stdout.strip()[-300:]}")
    statuses = Counter(s for s, _ in placed.values())
    return {
        "bids_acknowledged": len(placed),
        "bids_by_status": dict(statuses),
        "cancels_acknowledged": len(cancelled),
        "trades_booked": trades,
        "other_responses": dict(errors),
        "ledger_check": check.stdout.strip().splitlines()[-1] if check.stdout.strip() else "",
        "problems": problems,
    }


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


@contextmanager
def postgres_databases(admin_url: str, count: int) -> Iterator[list[str]]:
    """Fresh PostgreSQL databases (SQLAlchemy URLs), dropped afterwards."""
    import psycopg

    names = [f"dm_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield [f"{base}/{name}" for name in names]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_database(
    label: str,
    market_url: str,
    ceiling_url: str,
    folder: Path,
    *,
    wrk: str,
    concurrency: list[int],
    seconds: int,
    buyers: int,
    batch: int,
    workers: int = 1,
) -> dict[str, Any]:
    env = _market_env(folder, market_url)
    seed_path = folder / "seed.txt"
    started = time.perf_counter()
    seed(env, seed_path, buyers=buyers, sellers=10, per_category=10)
    print(f"[{label}] seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    market_port, ceiling_port = _free_port(), _free_port()
    ceiling_env = {**env, "DATAMARKET_BENCH_CEILING_DATABASE_URL": ceiling_url}
    results: dict[str, Any] = {
        "market": {},
        "batch": {},
        "echo": {},
        "commit": {},
        "sequenced": {},
    }
    ack_files: list[Path] = []
    with ExitStack() as stack:
        market = stack.enter_context(
            serving(
                [
                    sys.executable,
                    "-m",
                    "datamarket",
                    "serve",
                    "--port",
                    str(market_port),
                    "--workers",
                    str(workers),
                ],
                env,
                market_port,
                folder / "market.log",
            )
        )
        ceiling = stack.enter_context(
            serving(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.http.ceiling:app",
                    "--port",
                    str(ceiling_port),
                    "--log-level",
                    "info",
                    "--no-server-header",
                    "--workers",
                    str(workers),
                ],
                ceiling_env,
                ceiling_port,
                folder / "ceiling.log",
            )
        )
        warm = folder / "acks-warmup.txt"
        drive(
            wrk,
            "orders.lua",
            market,
            connections=8,
            seconds=2,
            env={"BENCH_SEED": str(seed_path), "BENCH_ACKS": str(warm)},
        )
        ack_files.append(warm)
        for c in concurrency:
            acks = folder / f"acks-c{c}.txt"
            results["market"][c] = drive(
                wrk,
                "orders.lua",
                market,
                connections=c,
                seconds=seconds,
                env={"BENCH_SEED": str(seed_path), "BENCH_ACKS": str(acks)},
            )
            ack_files.append(acks)
            if batch:
                acks = folder / f"acks-batch-c{c}.txt"
                run = drive(
                    wrk,
                    "batch.lua",
                    market,
                    connections=c,
                    seconds=seconds,
                    env={
                        "BENCH_SEED": str(seed_path),
                        "BENCH_ACKS": str(acks),
                        "BENCH_BATCH": str(batch),
                        "BENCH_RUN": f"{label}-c{c}-{uuid.uuid4().hex[:8]}",
                    },
                )
                run["orders_per_second"] = round(run["per_second"] * batch, 1)
                results["batch"][c] = run
                ack_files.append(acks)
            for route in ("echo", "commit", "sequenced"):
                results[route][c] = drive(
                    wrk,
                    "ceiling.lua",
                    ceiling,
                    connections=c,
                    seconds=seconds,
                    env={"BENCH_PATH": f"/{route}"},
                )
            m, e, k, q = (results[r][c] for r in ("market", "echo", "commit", "sequenced"))
            print(
                f"[{label}] c={c}: market {m['per_second']}/s p99 {m['p99_ms']} ms; "
                f"echo {e['per_second']}/s; commit {k['per_second']}/s; "
                f"sequenced {q['per_second']}/s p99 {q['p99_ms']} ms",
                file=sys.stderr,
            )
    results["verification"] = verify(market_url, env, ack_files)
    results["ratios"] = {
        c: {
            "to_echo": round(
                results["market"][c]["per_second"] / results["echo"][c]["per_second"], 3
            ),
            "to_commit": round(
                results["market"][c]["per_second"] / results["commit"][c]["per_second"], 3
            ),
            "to_sequenced": round(
                results["market"][c]["per_second"] / results["sequenced"][c]["per_second"], 3
            ),
            "sequenced_to_echo": round(
                results["sequenced"][c]["per_second"] / results["echo"][c]["per_second"], 3
            ),
        }
        for c in concurrency
    }
    for c, run in results["batch"].items():
        run["to_echo"] = round(run["orders_per_second"] / results["echo"][c]["per_second"], 3)
    return results


def _table(label: str, results: dict[str, Any]) -> str:
    rows = [
        f"### {label}",
        "",
        "| concurrency | market orders/s | p50 | p99 | p99.9 ms | echo /s (p99) | one-commit /s (p99) "
        "| sequenced /s (p99) | × echo | × one-commit | × sequenced | sequenced × echo |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c, m in results["market"].items():
        e, k, q = results["echo"][c], results["commit"][c], results["sequenced"][c]
        r = results["ratios"][c]
        rows.append(
            f"| {c} | {m['per_second']:,.0f} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | "
            f"{m['p999_ms']:.1f} | {e['per_second']:,.0f} ({e['p99_ms']:.1f}) | "
            f"{k['per_second']:,.0f} ({k['p99_ms']:.1f}) | "
            f"{q['per_second']:,.0f} ({q['p99_ms']:.1f}) | {r['to_echo']:.2f} | "
            f"{r['to_commit']:.2f} | {r['to_sequenced']:.2f} | {r['sequenced_to_echo']:.2f} |"
        )
    if results["batch"]:
        rows += [
            "",
            "| concurrency | batch requests/s | orders/s | p50 | p99 | p99.9 ms | orders × echo |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c, b in results["batch"].items():
            rows.append(
                f"| {c} | {b['per_second']:,.1f} | {b['orders_per_second']:,.0f} | "
                f"{b['p50_ms']:.1f} | {b['p99_ms']:.1f} | {b['p999_ms']:.1f} | {b['to_echo']:.2f} |"
            )
    return "\n".join(rows)


def main(
    databases: list[str],
    concurrency: list[int],
    seconds: int,
    buyers: int,
    postgres_admin_url: str,
    as_json: bool,
    batch: int = 100,
    workers: int = 1,
) -> dict[str, Any]:
    wrk = ensure_wrk()
    machine = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "wrk": subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.splitlines()[0]
        if subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout
        else "wrk",
    }
    report: dict[str, Any] = {"machine": machine, "server_workers": workers}
    for label in databases:
        with tempfile.TemporaryDirectory(prefix=f"bench-http-{label}-") as tmp:
            folder = Path(tmp)
            if label == "sqlite":
                report[label] = run_database(
                    label,
                    f"sqlite:///{folder / 'market.db'}",
                    f"sqlite:///{folder / 'ceiling.db'}",
                    folder,
                    wrk=wrk,
                    concurrency=concurrency,
                    seconds=seconds,
                    buyers=buyers,
                    batch=batch,
                    workers=workers,
                )
            else:
                with postgres_databases(postgres_admin_url, 2) as (market_url, ceiling_url):
                    report[label] = run_database(
                        label,
                        market_url,
                        ceiling_url,
                        folder,
                        wrk=wrk,
                        concurrency=concurrency,
                        seconds=seconds,
                        buyers=buyers,
                        batch=batch,
                        workers=workers,
                    )
        print(_table(label, report[label]))
        print(f"verification: {json.dumps(report[label]['verification'], ensure_ascii=False)}")
    machine["load_average_after"] = os.getloadavg()
    if as_json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    return report
