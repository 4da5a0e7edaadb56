"""Hierarchical earth mover's distance agrees with the transport problem solved exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from anonymize import Algorithm, Config, Definition, Hierarchy, KAnonymity, TCloseness, anonymize
from anonymize.emd import hierarchical_distance
from anonymize.verify import hierarchical_emd, measure_t

# Six diseases under two families under the root (height 2).
DISEASES = Hierarchy.from_rows(
    [
        ("flu", "respiratory", "*"),
        ("cold", "respiratory", "*"),
        ("asthma", "respiratory", "*"),
        ("gastritis", "digestive", "*"),
        ("ulcer", "digestive", "*"),
        ("colitis", "digestive", "*"),
    ]
)
VALUES = DISEASES.values


def transport_cost(p: np.ndarray, q: np.ndarray) -> float:
    """EMD as a linear program: ground distance = level of the common ancestor / height."""
    family = {row[0]: row[1] for row in DISEASES.rows}
    m = len(VALUES)
    ground = np.array(
        [
            [0.0 if a == b else 0.5 if family[a] == family[b] else 1.0 for b in VALUES]
            for a in VALUES
        ]
    )
    equalities = np.zeros((2 * m, m * m))
    for i in range(m):
        equalities[i, i * m : (i + 1) * m] = 1.0
        equalities[m + i, i::m] = 1.0
    solution = linprog(
        ground.ravel(), A_eq=equalities, b_eq=np.concatenate([p, q]), bounds=(0, None)
    )
    return float(solution.fun)


distributions = st.lists(st.integers(0, 9), min_size=6, max_size=6).filter(lambda c: sum(c) > 0)


@settings(max_examples=60, deadline=None)
@given(distributions, distributions)
def test_bothhierarchical_emds_match_the_transport_problem(first, second):
    p = np.array(first, dtype=float) / sum(first)
    q = np.array(second, dtype=float) / sum(second)
    expected = transport_cost(p, q)
    tree = tuple(
        pd.factorize(pd.Index([row[level] for row in DISEASES.rows]))[0].astype(np.int64)
        for level in range(DISEASES.height)
    )
    assert hierarchical_distance((p - q)[None, :], tree)[0] == pytest.approx(expected, abs=1e-9)
    frame = pd.DataFrame([p - q], columns=VALUES)
    assert hierarchical_emd(frame, DISEASES)[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("algorithm", [Algorithm.OPTIMAL, Algorithm.MONDRIAN])
def test_hierarchical_t_closeness_holds_on_the_release(algorithm):
    rng = np.random.default_rng(5)
    data = pd.DataFrame(
        {
            "age": rng.integers(20, 80, 600).astype(str),
            "disease": rng.choice(VALUES, 600, p=[0.3, 0.3, 0.1, 0.1, 0.1, 0.1]),
        }
    )
    config = Config((KAnonymity(5), TCloseness("disease", 0.1, DISEASES)), algorithm=algorithm)
    result = anonymize(data, Definition.of(quasi=["age"], sensitive=["disease"]), None, config)
    measured = measure_t(result.output, ["age"], "disease", data["disease"], DISEASES)
    assert measured <= 0.1 + 1e-9
    assert result.verification.t["disease"] == pytest.approx(measured, abs=1e-6)
