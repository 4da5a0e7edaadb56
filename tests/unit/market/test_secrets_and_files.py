"""Production secrets and owner-only files (issue 9, item 8)."""

import pytest

from market import db
from market.settings import InsecureSettings, Settings

KEY = "ab" * 32


def test_production_refuses_to_generate_a_master_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(environment="production", data_dir=tmp_path / "var", master_key=None)
    with pytest.raises(InsecureSettings, match="DATAMARKET_MASTER_KEY"):
        settings.resolved_master_key()
    assert not (tmp_path / "var" / "master.key").exists()


def test_production_refuses_a_key_file_inside_the_data_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "secret.key").write_text(KEY)
    settings = Settings(
        environment="production",
        data_dir=data_dir,
        master_key=None,
        master_key_file=data_dir / "secret.key",
    )
    with pytest.raises(InsecureSettings, match="data directory"):
        settings.resolved_master_key()


def test_production_reads_a_key_file_kept_elsewhere(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "secret.key").write_text(KEY + "\n")
    settings = Settings(
        environment="production",
        data_dir=tmp_path / "var",
        master_key=None,
        master_key_file=tmp_path / "secret.key",
    )
    assert settings.resolved_master_key() == bytes.fromhex(KEY)
    assert not (tmp_path / "var").exists()


def test_a_key_and_a_key_file_together_are_ambiguous(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "secret.key").write_text(KEY)
    settings = Settings(master_key=KEY, master_key_file=tmp_path / "secret.key")
    with pytest.raises(InsecureSettings, match="not both"):
        settings.resolved_master_key()


def test_previous_master_keys_are_read_for_rotation() -> None:
    settings = Settings(previous_master_keys=f"{'01' * 32}, {'02' * 32}")
    assert settings.resolved_previous_master_keys() == [b"\x01" * 32, b"\x02" * 32]


def test_the_sqlite_database_and_its_folder_are_created_owner_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "var" / "market.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        db.migrate(engine)
    finally:
        engine.dispose()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for file in path.parent.iterdir():
        assert file.stat().st_mode & 0o777 == 0o600, file.name


def test_a_database_file_an_older_version_left_readable_is_tightened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "market.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    db.make_engine(f"sqlite:///{path}").dispose()
    assert path.stat().st_mode & 0o777 == 0o600
