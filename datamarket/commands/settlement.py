"""`datamarket settlement check` and `datamarket settlement reconcile`: the books' own audits
(docs/settlement.md). Both only read the database, so they run beside a live market."""

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

T = TypeVar("T")
settlement_app = typer.Typer(
    help="Settlement: ledger invariants and reconciliation with the invoices.",
    no_args_is_help=True,
)


def _read(work: "Callable[..., T]") -> T:
    """Run `work` on the configured database; exit 2 with the reason when there is no market
    database there (nothing is created: a missing SQLite file stays missing)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlmodel import Session

    from market import db
    from market.settings import get_settings

    url = get_settings().resolved_database_url
    parsed = make_url(url)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path not in (None, "", ":memory:") and not Path(str(path)).is_file():
        _fail(
            f"no market database at {path}: run the market once (make run) or set "
            "DATAMARKET_DATABASE_URL"
        )
    engine = db.make_engine(url)
    try:
        try:
            migrated = inspect(engine).has_table("alembic_version")
        except Exception as exc:
            _fail(f"the database cannot be read: {type(exc).__name__}")
        if not migrated:
            _fail("the database holds no market tables: run the market once to create them")
        with Session(engine) as session:
            return work(session=session)
    finally:
        engine.dispose()


def _fail(reason: str) -> NoReturn:
    typer.echo(reason, err=True)
    raise typer.Exit(2)


@settlement_app.command("check")
def check() -> None:
    """Verify the ledger: every transaction balanced and unchanged since posting, the trial
    balance zero, and the invoices in agreement with their postings. Exits 1 naming each fault,
    2 when there is no market database to check."""
    from market.settlement.check import check_ledger

    problems = _read(check_ledger)
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"{len(problems)} problems")
    if problems:
        raise typer.Exit(1)


@settlement_app.command("reconcile")
def reconcile() -> None:
    """Compare the ledger with the invoices (issued, paid) and refunds; list every mismatch.

    A clean run prints 0 mismatches and exits 0; otherwise each mismatch is printed and the
    exit status is 1. Exit status 2: nothing was compared (no market database, or the payment
    provider did not answer).
    """
    from market.settings import get_settings
    from market.settlement.payments.configured import provider_from
    from market.settlement.payments.provider import ProviderUnavailable
    from market.settlement.payments.provider_reconcile import reconcile_provider
    from market.settlement.reconcile import reconcile as compare

    provider = provider_from(get_settings())  # with a Stripe key, the provider's view too
    try:
        mismatches = _read(compare) + _read(
            lambda session: reconcile_provider(session=session, provider=provider)
        )
    except ProviderUnavailable as exc:
        _fail(f"the payment provider did not answer ({exc}); nothing was compared: try again")
    for mismatch in mismatches:
        typer.echo(str(mismatch))
    typer.echo(f"{len(mismatches)} mismatches")
    if mismatches:
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(settlement_app, name="settlement")
