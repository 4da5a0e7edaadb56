"""GET /listings over N listings through the ASGI app in-process: plain lists, text searches
(Japanese and English, one to three terms, trigram and short-term paths), filters, and the
listing detail, each timed per request (p50/p99) on SQLite and, when given, PostgreSQL.

The listings are written with Core bulk inserts (bench/catalog/seed.py); the app is the
market's own (`api.app.create_app`), served by Starlette's test client in this process, so the
figures include routing, authentication, validation and serialization but no network, and the
Python client's own cost (httpx and the test client's portal thread) besides.

Then, unless `served_seconds` is 0, the same database is served by `datamarket serve` and each
request is timed by wrk at concurrency 1 over loopback (bench/catalog/served.py): those p50/p99
are the figures to hold against the goal, and the exit status uses their p99 where they exist.
"""

import json
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from starlette.testclient import TestClient

from api.app import create_app
from bench.catalog.seed import seed_catalog
from bench.catalog.served import describe_served, time_served
from market import db
from market.participants import register_participant
from market.settings import Settings
from market.storage import open_store

GOAL_P99_MS = 20.0
PREVIEW_CSV = "地点,値,日付\n新宿,120,2026-01-01\n渋谷,98,2026-01-02\n".encode()


def queries(known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Named requests: (path params) as the benchmark sends them."""
    return {
        "list newest": {},
        "list cheapest": {"sort": "price"},
        "list best quality": {"sort": "quality"},
        "filter class+quality": {"data_class": "anonymized", "min_quality": 80},
        "filter tag+price": {"tags": "iot", "max_price_yen": 20_000},
        "search 東京 (2 chars)": {"q": "東京"},
        "search 血 (1 char)": {"q": "血"},
        "search 交通量 (trigram)": {"q": "交通量"},
        "search tokyo traffic": {"q": "tokyo traffic"},
        "search 医療 大阪": {"q": "医療 大阪"},
        "search serial (1 row)": {"q": known["serial"]},
        "search + sort price": {"q": "気象観測", "sort": "price"},
        "search 東京 + sort quality": {"q": "東京", "sort": "quality"},
        "filter + sort quality": {"data_class": "anonymized", "min_quality": 80, "sort": "quality"},
        "list best quality, page 2": {"sort": "quality", "after_first_page": True},
        "detail": {"path": f"/listings/{known['listing_id']}"},
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
    }


@contextmanager
def _database(kind: str, folder: Path, postgres_url: str | None) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'market.db'}"
        return
    assert postgres_url is not None
    name = f"dm_bench_catalog_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = postgres_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_one(
    kind: str, listings: int, requests: int, postgres_url: str | None, served_seconds: int = 5
) -> dict[str, Any]:
    """Seed one database and time every named request `requests` times in process, then for
    `served_seconds` each through the served market (none when 0)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-catalog-") as folder,
        _database(kind, Path(folder), postgres_url) as url,
    ):
        settings = Settings(
            environment="test",
            data_dir=Path(folder) / "var",
            database_url=url,
            master_key="11" * 32,
            redis_url=None,
            rate_limits_enabled=False,
        )
        engine = db.make_engine(url)
        db.migrate(engine)
        started = time.perf_counter()
        known = seed_catalog(engine, listings)
        seeded = time.perf_counter() - started
        if kind == "postgresql":
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        with db.unit_of_work(engine) as session:
            _, key = register_participant(session=session, name="Bench buyer", kind="business")
        # The detail's preview reads the first rows of the stored file of non-personal data.
        open_store(settings).put(known["dataset_id"], PREVIEW_CSV)
        engine.dispose()
        figures: dict[str, Any] = {}
        with TestClient(create_app(settings)) as client:
            headers = {"Authorization": f"Bearer {key}"}
            for name, params in queries(known).items():
                path = params.pop("path", "/listings")
                if params.pop("after_first_page", False):
                    first = client.get(path, params=params, headers=headers)
                    params["cursor"] = first.headers["X-Next-Cursor"]
                timings, cpu, count = [], [], 0
                for round_ in range(requests + 20):
                    begun, begun_cpu = time.perf_counter(), time.process_time()
                    response = client.get(path, params=params, headers=headers)
                    elapsed = (time.perf_counter() - begun) * 1000
                    used = (time.process_time() - begun_cpu) * 1000
                    assert response.status_code == 200, response.text[:300]
                    if round_ >= 20:  # the first requests warm caches and the plan cache
                        timings.append(elapsed)
                        cpu.append(used)
                    count = len(response.json()) if path == "/listings" else 1
                figures[name] = {
                    **_percentiles(timings),
                    "cpu_p50_ms": round(statistics.median(cpu), 2),
                    "items": count,
                }
        if served_seconds:
            served = time_served(
                settings=settings, key=key, named=queries(known), seconds=served_seconds
            )
            for name, figure in served.items():
                figures[name]["served"] = figure
    return {"database": kind, "listings": listings, "seed_seconds": round(seeded, 1), **figures}


def run(
    listings: int, requests: int, postgres_url: str | None, served_seconds: int = 5
) -> dict[str, Any]:
    kinds = ["sqlite"] + (["postgresql"] if postgres_url else [])
    return {
        "runs": [run_one(kind, listings, requests, postgres_url, served_seconds) for kind in kinds],
        "requests_per_query": requests,
        "served_seconds_per_query": served_seconds,
        "goal_p99_ms": GOAL_P99_MS,
        "machine": f"{platform.machine()}, {_cpus()} cores, Python {platform.python_version()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def _within_goal(figure: dict[str, Any]) -> bool:
    """The served p99 against the goal; the in-process p99 when there was no served run."""
    served = figure.get("served")
    if served is None:
        return bool(figure["p99_ms"] <= GOAL_P99_MS)
    return "failed" not in served and served["p99_ms"] <= GOAL_P99_MS


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main(
    listings: int = 100_000,
    requests: int = 200,
    postgres_url: str | None = None,
    as_json: bool = False,
    served_seconds: int = 5,
) -> bool:
    """Run and print a table; True when every request's p99 is within the goal (the served p99
    where there is one)."""
    result = run(listings, requests, postgres_url, served_seconds)
    within = True
    for one in result["runs"]:
        print(
            f"{one['database']}: {one['listings']:,} listings (seeded in {one['seed_seconds']} s)"
        )
        for name, figure in one.items():
            if isinstance(figure, dict):
                print(
                    f"  {name:<26} p50 {figure['p50_ms']:>7} ms  p99 {figure['p99_ms']:>7} ms"
                    f"  cpu p50 {figure['cpu_p50_ms']:>7} ms  ({figure['items']} items)"
                )
                if "served" in figure:
                    print(f"  {'':<26} {describe_served(figure['served'])}")
                within = within and _within_goal(figure)
    print(f"{result['machine']}, {result['date']}; goal p99 <= {GOAL_P99_MS} ms")
    if served_seconds:
        print("first line: in process (test client); second: served, wrk at concurrency 1")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    return within
