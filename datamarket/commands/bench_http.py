"""`datamarket bench http`: order entry over HTTP against the echo, one-commit and sequenced
ceilings."""

import os

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `bench http` to the CLI."""

    @bench_app.command("http")
    def bench_http(
        databases: str = typer.Option("sqlite,postgresql", help="comma-separated, in order"),
        concurrency: str = typer.Option("1,8,64", help="wrk connections, comma-separated"),
        seconds: int = typer.Option(10, help="length of each wrk run"),
        buyers: int = typer.Option(200, help="seeded buyers with credit and API keys"),
        batch: int = typer.Option(100, help="orders per POST /orders/batch request (0: skip)"),
        workers: int = typer.Option(
            1,
            min=1,
            max=16,
            help="API worker processes of the market (`serve --workers`) and of the ceilings",
        ),
        postgres_admin_url: str = typer.Option(
            os.environ.get(
                "DATAMARKET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            ),
            help="a PostgreSQL database to connect to in order to create the benchmark's own",
        ),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
    ) -> None:
        """Drive the market's /bids with wrk (installed with apt-get if missing), beside an echo
        route, a one-commit route and a sequenced route (issue 14's design at its leanest) in the
        same run; verify every acknowledgement afterwards."""
        from bench.http.run import main

        report = main(
            databases.split(","),
            [int(c) for c in concurrency.split(",")],
            seconds,
            buyers,
            postgres_admin_url,
            as_json,
            batch,
            workers,
        )
        if any(report[d]["verification"]["problems"] for d in databases.split(",")):
            raise typer.Exit(1)
