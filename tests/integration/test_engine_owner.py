"""One engine owner per database: building a market has no side effects, a second owner refuses
to start, an owner that lost its lock commits nothing, and a job runs once however often claimed.
Run on SQLite and PostgreSQL."""

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from market.errors import EngineOwnedElsewhere, EngineOwnershipLost
from market.events import InProcessBus
from market.jobs import AnonymizationRunner
from market.models import Dataset, Listing, Participant
from market.service import Market
from market.settings import Settings
from market.trading.tables import EngineOwner
from tests.e2e.test_anonymization_flow import SPEC, checkup_csv
from tests.factories import journal_rows, list_sensor_dataset, offer_licences, upload


def _epoch(market: Market) -> int:
    with Session(market.db) as session:
        row = session.get(EngineOwner, 1)
        assert row is not None
        return row.epoch


def test_building_a_market_has_no_side_effects(blank_settings: Settings) -> None:
    threads = threading.active_count()
    market = Market(blank_settings, bus=InProcessBus())
    try:
        assert sa.inspect(market.db).get_table_names() == []
        assert threading.active_count() == threads
        assert not market.running
        with pytest.raises(RuntimeError, match="not started"):
            market.orders.tick()
    finally:
        market.close()


def test_a_second_engine_owner_refuses_to_start(settings: Settings) -> None:
    with Market(settings, bus=InProcessBus()) as owner:
        list_sensor_dataset(owner)
        rows, epoch = journal_rows(owner), _epoch(owner)
        second = Market(settings, bus=InProcessBus())
        with pytest.raises(EngineOwnedElsewhere, match="another process owns the matching engine"):
            second.start()
        assert not second.running
        with pytest.raises(RuntimeError, match="not started"):
            second.orders.tick()
        second.close()
        assert (journal_rows(owner), _epoch(owner)) == (rows, epoch)
        # The owner goes on trading.
        owner.orders.tick()
        assert journal_rows(owner) == rows + 1
    with Market(settings, bus=InProcessBus()) as successor:
        assert _epoch(successor) == epoch + 1


def test_an_owner_whose_lock_vanished_commits_nothing(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "var",
        database_url=postgres_url,
        master_key="11" * 32,
        redis_url=None,
    )
    stale = Market(settings, bus=InProcessBus()).start()
    try:
        seller, dataset, _ = list_sensor_dataset(stale)
        connection = stale.orders.owner._connection
        assert connection is not None
        pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with stale.db.connect() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # The lock went with its connection, silently: a new owner starts.
        with Market(settings, bus=InProcessBus()) as successor:
            rows = journal_rows(successor)
            with pytest.raises(EngineOwnershipLost):
                offer_licences(
                    stale,
                    seller=seller,
                    dataset_id=dataset.id,
                    price_yen=2_000,
                    licence_count=None,
                    allowed_purposes=["research"],
                )
            assert journal_rows(successor) == rows
            assert len(successor.find(Listing)) == 1
    finally:
        stale.close()


def test_a_job_claimed_twice_runs_once(settings: Settings) -> None:
    with Market(settings, bus=InProcessBus()) as market:
        seller, _ = market.accounts.register(name="Clinic", kind="business")
        source = upload(
            market,
            seller=seller,
            raw=checkup_csv(),
            title="checkups",
            category="healthcare.checkup",
            data_class="personal",
        )
        job = market.data.start_anonymization(seller=seller, dataset_id=source.id, spec=SPEC)
        market.jobs.wait()
        # A second worker (another process's runner, or a resumed copy) is handed the same job.
        other = AnonymizationRunner(market.db, market.store, after_commit=lambda: None)
        try:
            other.run(job.id)
        finally:
            other.shutdown()
        produced = market.find(Dataset, data_class="anonymized")
        assert len(produced) == 1
        assert market.data.job(participant=seller, job_id=job.id).status == "succeeded"


def test_database_commands_run_beside_a_live_owner_and_demo_refuses(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datamarket.cli import app
    from market import settings as settings_module

    monkeypatch.setattr(settings_module, "get_settings", lambda: settings)
    with Market(settings, bus=InProcessBus()) as owner:
        runner = CliRunner()
        assert runner.invoke(app, ["migrate"]).exit_code == 0
        created = runner.invoke(app, ["create-operator", "Ops"])
        assert created.exit_code == 0, created.output
        assert len(owner.find(Participant, kind="operator")) == 1
        refused = runner.invoke(app, ["demo"])
        assert refused.exit_code == 1
        assert "another process owns the matching engine" in refused.output
        with Session(owner.db) as session:
            assert (
                session.exec(
                    select(func.count())
                    .select_from(Participant)
                    .where(col(Participant.kind) != "operator")
                ).one()
                == 0
            )
