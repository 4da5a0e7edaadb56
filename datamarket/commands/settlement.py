"""`datamarket settlement check` and `datamarket settlement reconcile`: the books' own audits
(docs/settlement.md). Both only read the database, so they run beside a live market."""

from collections.abc import Callable
from typing import TypeVar

import typer

T = TypeVar("T")
settlement_app = typer.Typer(
    help="Settlement: ledger invariants and reconciliation with the invoices.",
    no_args_is_help=True,
)


def _read(work: "Callable[..., T]") -> T:
    from sqlmodel import Session

    from market import db
    from market.settings import get_settings

    engine = db.make_engine(get_settings().resolved_database_url)
    try:
        with Session(engine) as session:
            return work(session=session)
    finally:
        engine.dispose()


@settlement_app.command("check")
def check() -> None:
    """Verify the ledger: every transaction balanced and unchanged since posting, the trial
    balance zero, and the invoices in agreement with their postings. Exits 1 naming each fault."""
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
    exit status is 1.
    """
    from market.settings import get_settings
    from market.settlement.payments.configured import provider_from
    from market.settlement.payments.provider_reconcile import reconcile_provider
    from market.settlement.reconcile import reconcile as compare

    provider = provider_from(get_settings())  # with a Stripe key, the provider's view too
    mismatches = _read(compare) + _read(
        lambda session: reconcile_provider(session=session, provider=provider)
    )
    for mismatch in mismatches:
        typer.echo(str(mismatch))
    typer.echo(f"{len(mismatches)} mismatches")
    if mismatches:
        raise typer.Exit(1)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    app.add_typer(settlement_app, name="settlement")
