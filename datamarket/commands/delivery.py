"""`datamarket trace LEAKED.csv` and `datamarket bench fingerprint`: tracing leaked copies to the
licence they were delivered under (docs/delivery.md)."""

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def trace(
    leaked: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="The leaked CSV file."
    ),
) -> None:
    """Name the licence (and buyer) a leaked CSV was delivered under; exit 1 when none.

    Safe beside a running market: it reads the database and the keys, writes nothing and never
    takes the matching engine.
    """
    from market.errors import MarketError
    from market.service import Market
    from market.settings import InsecureSettings, get_settings

    try:
        market = Market(get_settings())
    except (MarketError, InsecureSettings) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        result = market.delivery.trace(leaked.read_bytes())
    except MarketError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        market.close()
    console.print(
        f"{result.rows} rows; {len(result.datasets)} datasets with these columns; "
        f"{result.licences_checked} licences checked"
    )
    if not result.suspects:
        console.print("no licence's fingerprint found in this file")
        raise typer.Exit(1)
    table = Table(title="Licences whose fingerprint the file carries")
    for column in ("licence", "buyer", "dataset", "row order", "quoting"):
        table.add_column(column)
    for suspect in result.suspects:
        order, quoting = suspect.evidence.order, suspect.evidence.quoting
        table.add_row(
            suspect.licence_id,
            f"{suspect.buyer_name} ({suspect.buyer_id})",
            suspect.dataset_id,
            f"{order.agreeing}/{order.informative} rising",
            f"{quoting.agreeing}/{quoting.informative} agree",
        )
    console.print(table)


def bench_fingerprint(
    licences: int = typer.Option(100, help="Licences (copies) to make and trace."),
    rows: int = typer.Option(1_000, help="Rows of the synthetic dataset."),
    unrelated: int = typer.Option(200, help="Unrelated files, each scored against every licence."),
    seed: int = typer.Option(12, help="Random seed (the run is deterministic)."),
) -> None:
    """Measure tracing: attacked copies named right, and the false-match rate on unrelated files."""
    from market.delivery.robustness import measure

    result = measure(licences=licences, rows=rows, unrelated=unrelated, seed=seed)
    console.print(
        f"{result.traced}/{result.licences} copies traced after dropping 10% of rows, reordering "
        f"columns and re-saving; {result.traced_by_quoting}/{result.licences} after dropping 10% "
        "of lines and shuffling the rest (quoting kept)"
    )
    console.print(
        f"false matches: {result.false_matches} in {result.comparisons:,} comparisons of "
        f"{result.unrelated_files} unrelated files with {result.licences} licences; highest "
        f"unrelated share: row order {result.highest_unrelated_order_share}, quoting "
        f"{result.highest_unrelated_quoting_share}"
    )
    if result.false_matches or result.traced < result.licences:
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `trace` and `bench fingerprint` to the CLI."""
    app.command()(trace)
    bench_app.command("fingerprint")(bench_fingerprint)
