"""Orphaned blobs (issue 9, item 11): what a killed upload leaves is swept; what a row names stays."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from market.models import new_id
from market.orphans import sweep_orphans
from market.service import Market
from market.settings import Settings
from tests.factories import list_sensor_dataset

GRACE = timedelta(hours=1)


@pytest.fixture
def market(settings: Settings):  # type: ignore[no-untyped-def]
    with Market(settings) as m:
        yield m


def _age(market: Market, object_id: str, hours: float = 2) -> None:
    """Backdate a blob, as if it had been written `hours` ago."""
    past = time.time() - hours * 3600
    os.utime(market.store.path_of(object_id), (past, past))


def test_a_killed_upload_leaves_a_blob_that_the_sweep_removes(market: Market) -> None:
    _, dataset, _ = list_sensor_dataset(market)
    method = f"method-{dataset.id}"
    market.store.put(method, b"sealed method record")
    killed = new_id()  # the blob of an upload killed before its row was committed
    market.store.put(killed, b"sensor_id,reading\nS001,1\n")
    stray_method = f"method-{new_id()}"
    market.store.put(stray_method, b"of a dataset that never was")
    in_flight = new_id()  # an upload still running: its row is about to be committed
    market.store.put(in_flight, b"sensor_id,reading\n")
    unknown = f"delivery-{new_id()}"  # a kind of object the sweep does not know: never touched
    market.store.put(unknown, b"x")
    for object_id in (dataset.id, method, killed, stray_method, unknown):
        _age(market, object_id)
    stale = market.store.root / ".tmp-killed"
    stale.write_bytes(b"half a blob")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))

    sweep = sweep_orphans(db=market.db, store=market.store, grace=GRACE)

    assert sorted(sweep.removed) == sorted([killed, stray_method])
    assert (sweep.referenced, sweep.kept_young, sweep.kept_unknown) == (2, 1, 1)
    assert sweep.temporaries_removed == 1 and not stale.exists()
    remaining = {o.object_id for o in market.store.objects()}
    assert remaining == {dataset.id, method, in_flight, unknown}
    assert market.store.get(dataset.id).startswith(b"sensor_id")


def test_a_dry_run_removes_nothing(market: Market) -> None:
    killed = new_id()
    market.store.put(killed, b"a,b\n")
    _age(market, killed)
    sweep = sweep_orphans(db=market.db, store=market.store, grace=GRACE, dry_run=True)
    assert sweep.removed == [killed]
    assert market.store.path_of(killed).exists()


def test_storage_gc_command_sweeps_with_the_configured_grace(settings: Settings) -> None:
    with Market(settings) as market:
        _, dataset, _ = list_sensor_dataset(market)
        killed = new_id()
        market.store.put(killed, b"a,b\n")
        _age(market, killed)
        _age(market, dataset.id)
    env = {
        **os.environ,
        "DATAMARKET_ENVIRONMENT": "test",
        "DATAMARKET_DATA_DIR": str(settings.data_dir),
        "DATAMARKET_DATABASE_URL": settings.resolved_database_url,
        "DATAMARKET_MASTER_KEY": settings.master_key or "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "datamarket", "storage", "gc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "removed 1 orphaned objects" in done.stdout and killed in done.stdout
    assert not (settings.data_dir / "objects" / f"{killed}.bin").exists()
    assert (settings.data_dir / "objects" / f"{dataset.id}.bin").exists()


def test_starting_the_market_sweeps_old_orphans(settings: Settings) -> None:
    with Market(settings) as market:
        killed = new_id()
        market.store.put(killed, b"sensor_id,reading\nS001,1\n")
        past = time.time() - settings.orphan_grace_seconds - 60
        os.utime(market.store.path_of(killed), (past, past))
    with Market(settings) as restarted:
        assert not restarted.store.path_of(killed).exists()
