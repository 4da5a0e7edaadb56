"""The benchmark code keeps working (a smoke run on a small synthetic table; not timed)."""

from __future__ import annotations

from bench.anonymize.scale import run_scale, synthetic


def test_synthetic_table_has_eight_quasi_identifiers_with_hierarchies():
    data, hierarchies = synthetic(500)
    assert len(data) == 500 and len(data.columns) == 8
    assert set(hierarchies) == set(data.columns)


def test_scale_run_reports_verified_figures_for_both_algorithms():
    figures = run_scale(3_000, ["optimal", "mondrian"])
    assert figures["optimal_k"] >= 5 and figures["mondrian_k"] >= 5
    assert figures["mondrian_dm"] < figures["optimal_dm"]
