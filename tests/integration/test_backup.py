"""Backup and restore (issue 9, item 9): a restore drill on SQLite and PostgreSQL, and refusals."""

import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect

from market.backup import BackupFailed, create_backup, restore_backup
from market.demo import seed_demo
from market.models import Dataset, Participant
from market.service import Market
from market.settings import Settings
from market.storage import open_store


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new, empty database (no tables) of the same kind as `database_url`, to restore into."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'restored' / 'market.db'}"
    return str(request.getfixturevalue("blank_postgres_url"))


def _restored_settings(settings: Settings, url: str, tmp_path: Path, **changes: Any) -> Settings:
    fields = {
        "environment": "test",
        "data_dir": tmp_path / "restored",
        "database_url": url,
        "master_key": settings.master_key,
        "redis_url": None,
        **changes,
    }
    return Settings(**fields)


def _state(market: Market) -> dict[str, Any]:
    datasets = market.find(Dataset, limit=500)
    return {
        "engine": market.trading.state_hash(),
        "ledger": market.credit.trial_balance(),
        "participants": sorted(p.id for p in market.find(Participant, limit=500)),
        "trades": sorted(t.id for t in market.trades(limit=500).items),
        "datasets": {d.id: market.store.get(d.id) for d in datasets},
        "methods": {
            d.id: market.store.get(f"method-{d.id}")
            for d in datasets
            if d.data_class == "anonymized"
        },
    }


def _table_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return len(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_a_restore_drill_gives_the_same_engine_ledger_and_bytes(
    settings: Settings, empty_url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "backups" / "market.tar"
    with Market(settings) as market:
        seed_demo(market)
        before = _state(market)
        # Taken while the market is open, as an operator would.
        summary = create_backup(
            database_url=settings.resolved_database_url, store=market.store, archive=archive
        )
    assert summary.objects == len(before["datasets"]) + len(before["methods"])
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        whole = b"".join(
            tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        )
    assert "みなと健診クリニック".encode() not in whole  # the database is sealed too
    assert b"Kansai Weather Grid" not in whole
    restored = _restored_settings(settings, empty_url, tmp_path)

    result = restore_backup(archive=archive, database_url=empty_url, store=open_store(restored))

    assert result.objects == summary.objects
    with Market(restored) as market:
        after = _state(market)
    assert after == before
    assert before["trades"] and before["methods"] and before["ledger"]


def test_restore_refuses_a_target_that_holds_data(settings: Settings, tmp_path: Path) -> None:
    archive = tmp_path / "market.tar"
    with Market(settings) as market:
        seed_demo(market)
        create_backup(
            database_url=settings.resolved_database_url, store=market.store, archive=archive
        )
        objects = sorted(o.object_id for o in market.store.objects())
        with pytest.raises(BackupFailed, match="not empty"):
            restore_backup(
                archive=archive,
                database_url=settings.resolved_database_url,
                store=market.store,
            )
        assert sorted(o.object_id for o in market.store.objects()) == objects


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_restore_refuses_without_the_key_or_with_a_damaged_archive(
    settings: Settings, empty_url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "market.tar"
    with Market(settings) as market:
        seed_demo(market)
        create_backup(
            database_url=settings.resolved_database_url, store=market.store, archive=archive
        )
    other_key = _restored_settings(settings, empty_url, tmp_path, master_key="22" * 32)
    with pytest.raises(BackupFailed, match="not configured"):
        restore_backup(archive=archive, database_url=empty_url, store=open_store(other_key))
    damaged = tmp_path / "damaged.tar"
    blob = bytearray(archive.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    damaged.write_bytes(bytes(blob))
    restored = _restored_settings(settings, empty_url, tmp_path)
    with pytest.raises(BackupFailed, match="damaged"):
        restore_backup(archive=damaged, database_url=empty_url, store=open_store(restored))
    assert list(open_store(restored).objects()) == []
    assert _table_count(empty_url) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_backup_and_restore_commands(settings: Settings, empty_url: str, tmp_path: Path) -> None:
    with Market(settings) as market:
        seed_demo(market)
        before = _state(market)
    archive = tmp_path / "cli.tar"

    def cli(*args: str, data_dir: Path, url: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DATAMARKET_ENVIRONMENT": "test",
            "DATAMARKET_DATA_DIR": str(data_dir),
            "DATAMARKET_DATABASE_URL": url,
            "DATAMARKET_MASTER_KEY": settings.master_key or "",
        }
        return subprocess.run(
            [sys.executable, "-m", "datamarket", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    made = cli(
        "backup", str(archive), data_dir=settings.data_dir, url=settings.resolved_database_url
    )
    assert made.returncode == 0, made.stderr
    again = cli(
        "restore", str(archive), data_dir=settings.data_dir, url=settings.resolved_database_url
    )
    assert again.returncode == 1 and "not empty" in again.stderr
    restored = _restored_settings(settings, empty_url, tmp_path)
    done = cli("restore", str(archive), data_dir=restored.data_dir, url=empty_url)
    assert done.returncode == 0, done.stderr
    verified = cli("storage", "verify", data_dir=restored.data_dir, url=empty_url)
    assert verified.returncode == 0, verified.stderr
    with Market(restored) as market:
        assert _state(market) == before
