"""Golden answers on UCI Adult (ARX's adult.csv and hierarchies), from ARX's benchmarks and tests."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymize import Algorithm, Config, Definition, KAnonymity, QualityModel, anonymize

from .conftest import ARX_QIS


def optimal(
    data: pd.DataFrame,
    hierarchies: dict,
    quasi: list[str],
    k: int,
    quality: QualityModel,
    suppression: float = 0.0,
):
    rest = [c for c in data.columns if c not in quasi]
    definition = Definition.of(quasi=quasi, insensitive=rest)
    config = Config(
        (KAnonymity(k),),
        suppression_limit=suppression,
        quality=quality,
        algorithm=Algorithm.OPTIMAL,
    )
    return anonymize(data, definition, {q: hierarchies[q] for q in quasi}, config)


def test_dm_optimum_on_8_qis_at_k5_is_arx_value(adult, adult_hierarchies):
    result = optimal(adult, adult_hierarchies, ARX_QIS, 5, QualityModel.DM)
    assert result.metrics.dm == 55_170_356
    assert result.metrics.suppressed_rows == 0


def test_aecs_optimum_is_a_different_transformation(adult, adult_hierarchies):
    by_dm = optimal(adult, adult_hierarchies, ARX_QIS, 5, QualityModel.DM)
    by_aecs = optimal(adult, adult_hierarchies, ARX_QIS, 5, QualityModel.AECS)
    assert by_aecs.metrics.aecs == pytest.approx(942.5625)
    assert by_aecs.transformation != by_dm.transformation


@pytest.mark.parametrize(
    ("k", "suppression", "expected"),
    [
        (5, 0.0, 407_289.5389),
        (100, 0.0, 453_196.8932),
        (5, 0.04, 255_559.8546),
        (100, 0.04, 379_417.3461),
    ],
)
def test_entropy_optimum_on_all_columns_is_arx_value(
    adult, adult_hierarchies, k, suppression, expected
):
    quasi = list(adult.columns)
    result = optimal(adult, adult_hierarchies, quasi, k, QualityModel.ENTROPY, suppression)
    assert result.metrics.entropy == pytest.approx(expected, abs=1e-3)
    assert result.verification.k >= k
    assert result.metrics.suppressed_rows <= int(suppression * len(adult))


def test_dm_charges_each_suppressed_record_the_table_size(adult, adult_hierarchies):
    result = optimal(adult, adult_hierarchies, ARX_QIS, 5, QualityModel.DM, 0.04)
    sizes = result.output.groupby(ARX_QIS, observed=True).size()
    expected = int((sizes**2).sum()) + result.metrics.suppressed_rows * len(adult)
    assert result.metrics.dm == expected
    assert result.metrics.rows_out + result.metrics.suppressed_rows == len(adult)
