"""`datamarket storage ...`, `datamarket backup` and `datamarket restore`: the operator's tools for
the encrypted store and the database (docs/operations.md)."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from market.settings import Settings
    from market.storage import EncryptedFolderStore

console = Console()
storage_app = typer.Typer(
    help="The encrypted object store: key rotation, orphan sweep, checks.", no_args_is_help=True
)


def _settings() -> "Settings":
    from market.settings import get_settings

    return get_settings()


def _store(settings: "Settings") -> "EncryptedFolderStore":
    from market.storage import open_store

    return open_store(settings)


@storage_app.command("new-key")
def new_key() -> None:
    """Print a fresh random master key (64 hex characters) for DATAMARKET_MASTER_KEY."""
    typer.echo(secrets.token_hex(32))


@storage_app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored object under the current master key (safe while serving).

    Set the new key as DATAMARKET_MASTER_KEY and the old one in DATAMARKET_PREVIOUS_MASTER_KEYS,
    for the servers and for this command; run it until it reports nothing left to rotate.
    """
    from market.storage import rotate_master_key

    with _refusals():
        store = _store(_settings())
        rotation = rotate_master_key(store)
    console.print(
        f"key {store.encryptor.key_id}: {rotation.resealed} objects re-encrypted, "
        f"{rotation.current} already current, {len(rotation.failed)} failed"
    )
    if rotation.failed:
        console.print("could not open (no key for them, or damaged): " + ", ".join(rotation.failed))
        raise typer.Exit(1)


@storage_app.command("gc")
def collect_garbage(
    grace_seconds: int | None = typer.Option(
        None, help="Keep blobs younger than this (default: DATAMARKET_ORPHAN_GRACE_SECONDS)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; remove nothing."),
) -> None:
    """Remove stored objects that no row points to and that are older than the grace period."""
    from market import db
    from market.orphans import sweep_orphans

    settings = _settings()
    grace = settings.orphan_grace_seconds if grace_seconds is None else grace_seconds
    engine = db.make_engine(settings.resolved_database_url)
    try:
        with _refusals():
            store = _store(settings)
        sweep = sweep_orphans(
            db=engine, store=store, grace=timedelta(seconds=grace), dry_run=dry_run
        )
    finally:
        engine.dispose()
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {len(sweep.removed)} orphaned objects and {sweep.temporaries_removed} stale "
        f"temporary files; kept {sweep.referenced} referenced, {sweep.kept_young} younger than "
        f"{grace} s, {sweep.kept_unknown} of an unknown kind"
    )
    for object_id in sweep.removed:
        typer.echo(object_id)


@storage_app.command("verify")
def verify() -> None:
    """Open every stored object with the configured keys; exit 1 naming any that fail."""
    from market.errors import MarketError

    with _refusals():
        store = _store(_settings())
    failed, count = [], 0
    for stored in store.objects():
        count += 1
        try:
            for _ in store.stream(stored.object_id):
                pass
        except MarketError:
            failed.append(stored.object_id)
    console.print(f"{count - len(failed)} of {count} stored objects open and authenticate")
    if failed:
        console.print("failed: " + ", ".join(failed))
        raise typer.Exit(1)


def backup(
    archive: Path = typer.Argument(..., help="The archive to write (a .tar file)."),
) -> None:
    """Back up the database and the encrypted store into one archive, while the market runs."""
    from market.backup import create_backup

    settings = _settings()
    with _refusals():
        summary = create_backup(
            database_url=settings.resolved_database_url, store=_store(settings), archive=archive
        )
    console.print(
        f"{summary.archive}: {summary.database} database and {summary.objects} objects, "
        f"{summary.size_bytes:,} bytes (sealed; keep the master key apart from it)"
    )


def restore(
    archive: Path = typer.Argument(..., help="An archive written by `datamarket backup`."),
) -> None:
    """Restore an archive into an empty database and data directory (the market stopped)."""
    from market.backup import restore_backup

    settings = _settings()
    with _refusals():
        summary = restore_backup(
            archive=archive, database_url=settings.resolved_database_url, store=_store(settings)
        )
    console.print(
        f"restored the {summary.database} database (revision {summary.revision}) and "
        f"{summary.objects} objects; `datamarket storage verify` checks them"
    )


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal's reason on stderr and exit status 1, instead of a traceback."""
    from market.errors import MarketError
    from market.settings import InsecureSettings

    try:
        yield
    except (MarketError, InsecureSettings) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add the storage and backup commands to the CLI."""
    app.add_typer(storage_app, name="storage")
    app.command()(backup)
    app.command()(restore)
