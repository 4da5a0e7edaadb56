"""Prosecutor re-identification risk from class sizes."""

from __future__ import annotations

import pytest

from anonymize.risk import prosecutor_risk


def test_prosecutor_risk_from_class_sizes():
    risk = prosecutor_risk([2, 5, 13], k=5)
    assert risk.highest == pytest.approx(1 / 2)
    assert risk.average == pytest.approx(3 / 20)
    assert risk.records_below_k == pytest.approx(2 / 20)


def test_empty_release_has_no_risk_figures():
    assert prosecutor_risk([], k=5).to_dict() == {
        "highest": 0.0,
        "average": 0.0,
        "records_below_k": 0.0,
    }
