"""Fixtures: the Adult data kept in tests/data/adult, and small factories."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from anonymize import Hierarchy
from bench.anonymize.adult import ADULT, ARX_QIS

__all__ = ["ADULT", "ARX_QIS", "adult_dir"]


def adult_dir() -> Path:
    """The Adult data folder, or a failure that says where it was expected."""
    if not (ADULT / "adult.csv").is_file():
        pytest.fail(
            f"Adult test data not found at {ADULT}: it belongs to the repository "
            "(tests/data/adult, see SOURCE.md there)"
        )
    return ADULT


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    """ARX's adult.csv: 30,162 rows, 9 columns, all text."""
    return pd.read_csv(adult_dir() / "adult.csv", sep=";", dtype=str)


@pytest.fixture(scope="session")
def adult_hierarchies() -> dict[str, Hierarchy]:
    """ARX's hierarchies for the nine Adult columns."""
    folder = adult_dir() / "arx_hierarchies"
    names = [*ARX_QIS, "occupation"]
    return {name: Hierarchy.from_csv(folder / f"adult_hierarchy_{name}.csv") for name in names}


@pytest.fixture(scope="session")
def pycanon_dir() -> Path:
    """pyCANON's anonymized Adult extracts."""
    return adult_dir() / "pycanon_fixtures"
