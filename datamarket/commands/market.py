"""`datamarket` commands that run the market: serve, demo, migrate, create an operator."""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from market.demo import DemoResult
    from market.service import Market

console = Console()


def _market() -> "Market":
    """The market of the configured database, started: this process owns the engine."""
    from market.errors import EngineOwnedElsewhere

    market = _database_only()
    try:
        return market.start()
    except EngineOwnedElsewhere as exc:
        market.close()
        typer.echo(exc.reason, err=True)
        raise typer.Exit(1) from None


def _database_only() -> "Market":
    """The market of the configured database, migrated but not started (no engine, no jobs)."""
    from market.service import Market
    from market.settings import get_settings

    market = Market(get_settings())
    market.migrate()
    return market


def _print_demo(market: "Market", result: "DemoResult") -> None:
    from market.models import Dataset

    names = {p.id: p.name for p in result.participants}
    titles = {
        i: market.find(Dataset, limit=1, id=i)[0].title
        for i in {t.dataset_id for t in result.trades}
    }
    table = Table(title="Demo trades (invoice settlement)")
    for column in ("seq", "dataset", "seller", "buyer", "price (yen)"):
        table.add_column(column, justify="right" if column in ("seq", "price (yen)") else "left")
    for trade in result.trades:
        table.add_row(
            str(trade.seq),
            titles[trade.dataset_id],
            names[trade.seller_id],
            names[trade.buyer_id],
            f"{trade.price_yen:,}",
        )
    console.print(table)
    console.print(
        f"{len(result.trades)} trades; {sum(t.price_yen for t in result.trades):,} yen in total"
    )


def _seed_demo(market: "Market", base_url: str) -> None:
    """Seed the demo (idempotent), save every demo participant's key, print what to try next."""
    from market.demo import KEYS_FILE, next_steps, read_demo_keys, seed_demo, write_demo_keys

    keys_path = market.settings.data_dir / KEYS_FILE
    result = seed_demo(market, known_keys=read_demo_keys(keys_path))
    if result.already_seeded:
        console.print(f"The demo is already seeded ({len(result.participants)} participants).")
    else:
        _print_demo(market, result)
    write_demo_keys(keys_path, result)
    console.print(f"API keys of the demo participants: {keys_path} (keep it private)")
    console.print(f"Next steps, once the market serves {base_url}:")
    # Plain output: rich would wrap long command lines and break them for copying.
    typer.echo("\n".join(next_steps(result, base_url=base_url, keys_path=keys_path)))


def demo(
    url: str = typer.Option(
        "http://127.0.0.1:8000", help="Where the market is served, for the printed commands."
    ),
) -> None:
    """Seed demo sellers, datasets and buyers and trade, once; save their keys; print next steps."""
    market = _market()
    try:
        _seed_demo(market, url)
    finally:
        market.close()


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    demo_data: bool = typer.Option(
        False, "--demo", help="Seed the demo data (once: later runs find it and change nothing)."
    ),
    ssl_certfile: Path | None = typer.Option(
        None, "--ssl-certfile", help="Serve HTTPS with this PEM certificate (chain)."
    ),
    ssl_keyfile: Path | None = typer.Option(
        None, "--ssl-keyfile", help="The PEM private key of --ssl-certfile."
    ),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto are "
        "trusted ('*' for any); default DATAMARKET_FORWARDED_ALLOW_IPS, else none.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="API worker processes. Above 1, this process owns the engine and serves the "
        "workers' trading commands (a Unix socket, or a Redis Stream with DATAMARKET_REDIS_URL).",
    ),
) -> None:
    """Serve the API (OpenAPI docs at /docs); migrations are applied on start."""
    import uvicorn

    from api.app import create_app
    from api.serving import tune_collector, uvicorn_options

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise typer.BadParameter("give both --ssl-certfile and --ssl-keyfile, or neither")
    if workers > 1:
        os.environ["DATAMARKET_ENGINE_SERVE_CHANNEL"] = "true"
    market = _market()
    if demo_data:
        _seed_demo(market, f"{'https' if ssl_certfile else 'http'}://{host}:{port}")
    tune_collector()
    scheme = "https" if ssl_certfile else "http"
    console.print(f"Market on {scheme}://{host}:{port}  (API docs: {scheme}://{host}:{port}/docs)")
    options = uvicorn_options(
        market.settings,
        host=host,
        port=port,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    if workers > 1:
        _serve_workers(market, workers, options)
        return
    try:
        uvicorn.run(create_app(market.settings, market), **options)
    finally:
        market.close()


def _serve_workers(market: "Market", workers: int, options: dict[str, Any]) -> None:
    """Serve with several uvicorn workers; this process stays the engine owner beside them."""
    import threading

    import uvicorn

    from api.app import start_engine_duties

    stop = threading.Event()
    duties = start_engine_duties(market, stop)
    # The workers are new processes that read their settings from the environment they inherit.
    os.environ["DATAMARKET_ENGINE_ROLE"] = "worker"
    try:
        uvicorn.run("api.app:create_worker_app", factory=True, workers=workers, **options)
    finally:
        stop.set()
        for duty in duties:
            duty.join(timeout=5)
        market.close()


def migrate() -> None:
    """Apply database migrations and exit (runs beside a live server)."""
    _database_only().close()
    console.print("database is at the newest migration")


def create_operator(name: str = typer.Argument(..., help="Display name of the operator.")) -> None:
    """Register an operator and print its API key (shown once; runs beside a live server)."""
    market = _database_only()
    try:
        participant, key = market.accounts.register(name=name, kind="operator")
    finally:
        market.close()
    console.print(f"operator {participant.id}")
    typer.echo(key)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the market's commands to the CLI."""
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app.command()(serve)
    app.command()(demo)
    app.command()(migrate)
    app.command("create-operator")(create_operator)

    @bench_app.command("quality")
    def bench_quality(
        rows: int = typer.Option(1_000_000, help="rows of the seeded text table"),
        columns: int = typer.Option(10, help="columns (cycling through the declared types)"),
        repeats: int = typer.Option(3, help="timed runs of each; the best is reported"),
        seed: int = typer.Option(1, help="seed of the table"),
        as_json: bool = typer.Option(False, "--json", help="last line: one JSON object"),
    ) -> None:
        """Score a large table's quality beside a plain pandas profile of it; exit 1 unless they
        count the same duplicate rows."""
        from bench.quality.run import main

        if not main(rows, columns, repeats, seed, as_json):
            raise typer.Exit(1)
