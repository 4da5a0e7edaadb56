"""`datamarket` commands of the anonymize feature."""

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add this feature's commands to the CLI."""
