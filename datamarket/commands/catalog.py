"""`datamarket bench catalog`: GET /listings over 100,000 listings (docs/catalog.md)."""

import typer


def bench_catalog(
    listings: int = typer.Option(100_000, help="listings seeded with Core bulk inserts"),
    requests: int = typer.Option(200, help="timed requests of each query in process"),
    postgres_url: str | None = typer.Option(
        None, help="a PostgreSQL server URL: a database is made there, benched, and dropped"
    ),
    served_seconds: int = typer.Option(
        5,
        min=0,
        help="seconds of wrk on each query against `datamarket serve` (0: no served run)",
    ),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Time plain lists, searches, filters and the listing page on SQLite and (with
    --postgres-url) PostgreSQL: first through the ASGI app in this process (Starlette's test
    client, whose own cost is in the figures), then served by `datamarket serve` (one worker)
    and sent by wrk (installed with apt-get when missing) at concurrency 1 over loopback. Exit 1
    when a served p99 (the in-process p99 with --served-seconds 0) exceeds 20 ms or a served
    answer is not 200."""
    from bench.catalog.run import main

    if not main(listings, requests, postgres_url, as_json, served_seconds):
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `bench catalog` to the CLI."""
    bench_app.command("catalog")(bench_catalog)
