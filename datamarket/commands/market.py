"""`datamarket` commands that run the market: serve, demo, migrate, create an operator."""

import gc
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from market.demo import DemoResult
    from market.service import Market

console = Console()


def _market() -> "Market":
    from market.service import Market
    from market.settings import get_settings

    return Market(get_settings())


def _print_demo(market: "Market", result: "DemoResult") -> None:
    from market.models import Dataset, Participant

    names = {p.id: p.name for p in market.find(Participant, limit=1000)}
    titles = {d.id: d.title for d in market.find(Dataset, limit=1000)}
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


def _save_keys(result: "DemoResult", data_dir: Path) -> Path:
    path = data_dir / "demo-keys.json"
    data_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    keys = {
        "operator": result.operator_key,
        "buyers": result.buyer_keys,
        "sellers": result.seller_keys,
    }
    path.write_text(json.dumps(keys, ensure_ascii=False, indent=2))
    return path


def demo() -> None:
    """Seed demo sellers, datasets and buyers, trade, and print a summary."""
    from market.demo import seed_demo

    market = _market()
    try:
        result = seed_demo(market)
        _print_demo(market, result)
        path = _save_keys(result, market.settings.data_dir)
        console.print(f"API keys of the demo participants: {path} (keep it private)")
    finally:
        market.close()


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    demo_data: bool = typer.Option(
        False, "--demo", help="Seed demo data when the market is empty."
    ),
) -> None:
    """Serve the API (OpenAPI docs at /docs); migrations are applied on start."""
    import uvicorn

    from api.app import create_app
    from market.demo import seed_demo
    from market.models import Participant

    market = _market()
    if demo_data and not market.find(Participant, limit=1):
        result = seed_demo(market)
        _print_demo(market, result)
        console.print(f"Demo API keys: {_save_keys(result, market.settings.data_dir)}")
    # Long-lived start-up objects (the rebuilt order books) never become garbage: keep the
    # collector from rescanning them on every cycle.
    gc.collect()
    gc.freeze()
    console.print(f"Market on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    try:
        uvicorn.run(create_app(market.settings, market), host=host, port=port, log_level="info")
    finally:
        market.close()


def migrate() -> None:
    """Apply database migrations and exit."""
    _market().close()
    console.print("database is at the newest migration")


def create_operator(name: str = typer.Argument(..., help="Display name of the operator.")) -> None:
    """Register an operator and print its API key (shown once)."""
    market = _market()
    try:
        participant, key = market.register(name=name, kind="operator")
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
