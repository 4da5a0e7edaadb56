"""The verifier measures k, l and t from the released table alone and agrees with pyCANON."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymize import Config, KAnonymity, VerificationFailed, verify
from anonymize.verify import (
    holds_recursive_cl,
    measure_distinct_l,
    measure_entropy_l,
    measure_k,
    measure_t,
)

PYCANON_QIS = ["age", "education", "occupation", "relationship", "sex", "native-country"]


def pycanon():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pycanon.anonymity as anonymity
    return anonymity


@pytest.mark.parametrize("k", [3, 10, 20])
def test_k_l_and_t_agree_with_pycanon_on_its_adult_fixtures(pycanon_dir, k):
    released = pd.read_csv(pycanon_dir / f"adult_anonymized_{k}.csv")
    reference = pycanon()
    assert measure_k(released, PYCANON_QIS) == reference.k_anonymity(released, PYCANON_QIS) == k
    sensitive = ["salary-class"]
    assert measure_distinct_l(released, PYCANON_QIS, "salary-class") == reference.l_diversity(
        released, PYCANON_QIS, sensitive
    )
    assert measure_t(released, PYCANON_QIS, "salary-class") == pytest.approx(
        reference.t_closeness(released, PYCANON_QIS, sensitive)
    )


def test_entropy_l_and_ordered_t_agree_with_pycanon(pycanon_dir):
    released = pd.read_csv(pycanon_dir / "adult_anonymized_10.csv")
    reference = pycanon()
    quasi = ["sex", "relationship"]
    entropy_l = measure_entropy_l(released, quasi, "education")
    assert math.floor(entropy_l) == reference.entropy_l_diversity(released, quasi, ["education"])
    numeric_quasi = ["education", "occupation", "relationship", "sex", "native-country"]
    assert measure_t(released, numeric_quasi, "age") == pytest.approx(
        reference.t_closeness(released, numeric_quasi, ["age"])
    )


def test_a_release_below_k_is_refused_with_the_measured_value(pycanon_dir):
    released = pd.read_csv(pycanon_dir / "adult_anonymized_3.csv")
    with pytest.raises(VerificationFailed, match="k measured 3 < 5"):
        verify(released, PYCANON_QIS, Config((KAnonymity(5),)))


rows = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from("xy"), st.sampled_from("pqrs")),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows)
def test_verifier_agrees_with_a_brute_force_count(records):
    frame = pd.DataFrame(records, columns=["q1", "q2", "s"])
    classes: dict[tuple[str, str], list[str]] = {}
    for q1, q2, s in records:
        classes.setdefault((q1, q2), []).append(s)
    assert measure_k(frame, ["q1", "q2"]) == min(len(v) for v in classes.values())
    assert measure_distinct_l(frame, ["q1", "q2"], "s") == min(
        len(set(v)) for v in classes.values()
    )
    brute_entropy_l = min(
        math.exp(-sum((v.count(x) / len(v)) * math.log(v.count(x) / len(v)) for x in set(v)))
        for v in classes.values()
    )
    assert measure_entropy_l(frame, ["q1", "q2"], "s") == pytest.approx(brute_entropy_l)
    ranked = [sorted((v.count(x) for x in set(v)), reverse=True) for v in classes.values()]
    brute_recursive = all(len(r) >= 2 and r[0] < 3 * sum(r[1:]) for r in ranked)
    assert holds_recursive_cl(frame, ["q1", "q2"], "s", 3, 2) == brute_recursive
    overall = pd.Series([s for *_, s in records]).value_counts(normalize=True)
    brute_t = max(
        0.5
        * sum(abs(v.count(x) / len(v) - overall.get(x, 0.0)) for x in set(overall.index) | set(v))
        for v in classes.values()
    )
    assert measure_t(frame, ["q1", "q2"], "s") == pytest.approx(brute_t)
    assert not np.isnan(brute_t)
