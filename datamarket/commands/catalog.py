"""`datamarket bench catalog`: GET /listings over 100,000 listings (docs/catalog.md)."""

import typer


def bench_catalog(
    listings: int = typer.Option(100_000, help="listings seeded with Core bulk inserts"),
    requests: int = typer.Option(200, help="timed requests of each query"),
    postgres_url: str | None = typer.Option(
        None, help="a PostgreSQL server URL: a database is made there, benched, and dropped"
    ),
    as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
) -> None:
    """Time plain lists, searches, filters and the listing page through the ASGI app, on SQLite
    and (with --postgres-url) PostgreSQL; exit 1 unless every p99 is within 20 ms."""
    from bench.catalog.run import main

    if not main(listings, requests, postgres_url, as_json):
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `bench catalog` to the CLI."""
    bench_app.command("catalog")(bench_catalog)
