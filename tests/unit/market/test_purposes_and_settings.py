import pytest
from pydantic import ValidationError

from market.purposes import PURPOSES, UnknownPurpose, expand_purposes, require_leaf_purpose
from market.settings import Settings


def test_group_code_expands_to_its_leaves() -> None:
    assert expand_purposes(["research"]) == {
        "research.academic",
        "research.medical",
        "research.statistics",
    }


def test_unknown_purpose_is_refused_with_a_pointer_to_the_taxonomy() -> None:
    with pytest.raises(UnknownPurpose, match=r"docs/purposes\.md"):
        expand_purposes(["research", "spying"])
    with pytest.raises(UnknownPurpose):
        require_leaf_purpose("research")


def test_taxonomy_doc_lists_every_code() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[3] / "docs" / "purposes.md").read_text()
    assert all(f"`{code}`" in doc for code in PURPOSES)


@pytest.mark.parametrize("environment", ["test", "production"])
def test_placeholder_master_key_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment=environment, master_key="changeme")


def test_master_key_is_generated_once_into_the_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_master_key()
    assert len(first) == 32
    assert settings.resolved_master_key() == first
    assert (tmp_path / "master.key").stat().st_mode & 0o077 == 0


def test_default_database_is_a_sqlite_file_under_the_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert Settings(data_dir=tmp_path).resolved_database_url == f"sqlite:///{tmp_path}/market.db"
