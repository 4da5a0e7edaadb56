"""Credibility from paying buyers' ratings, and the score it moves by the documented amount (pure)."""

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from market.models import Licence
from market.quality import score_table
from market.quality.scoring import rescore
from market.ratings.credibility import PRIOR_YEN, RatedDelivery, credibility_of, star_score
from market.revisions.entitlement import covers

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def five_columns(missing: int = 0) -> pd.DataFrame:
    cells = {c: [f"{c}{i}" for i in range(10)] for c in "abcde"}
    for i in range(missing):
        cells["e"][i] = ""
    return pd.DataFrame(cells, dtype=object)


def test_no_rating_from_a_paying_buyer_leaves_credibility_unmeasured() -> None:
    assert credibility_of([], deliveries=3) is None
    assert credibility_of([RatedDelivery(5, 0)], deliveries=1) is None


def test_ratings_weigh_by_yen_paid_against_a_neutral_prior() -> None:
    found = credibility_of([RatedDelivery(5, 5_500)], deliveries=1)
    assert found is not None
    # (10,000 × 50 + 5,500 × 100) / 15,500
    assert found.score == pytest.approx(1_050_000 / 15_500)
    mixed = credibility_of([RatedDelivery(5, 30_000), RatedDelivery(1, 10_000)], deliveries=2)
    assert mixed is not None
    assert mixed.score == pytest.approx((PRIOR_YEN * 50 + 30_000 * 100) / 50_000)


def test_cheap_ratings_barely_move_the_figure_so_they_cannot_game_it() -> None:
    bought = [RatedDelivery(5, 1)] * 100  # a hundred 1-yen purchases rated 5 stars
    found = credibility_of(bought, deliveries=100)
    assert found is not None and found.score < 50.5
    one_real = credibility_of([RatedDelivery(1, 50_000)], deliveries=1)
    assert one_real is not None and one_real.score < 10


def test_the_basis_counts_ratings_and_yen_but_names_nobody() -> None:
    found = credibility_of([RatedDelivery(4, 2_000)], deliveries=7)
    assert found is not None
    assert "1 rating(s)" in found.basis and "7 licence(s)" in found.basis
    assert "¥2,000" in found.basis


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 10**9)), min_size=1, max_size=30))
def test_credibility_lies_between_the_prior_and_the_ratings(pairs: list[tuple[int, int]]) -> None:
    found = credibility_of([RatedDelivery(s, p) for s, p in pairs], deliveries=len(pairs))
    assert found is not None
    scores = [star_score(s) for s, _ in pairs] + [50.0]
    assert min(scores) - 1e-9 <= found.score <= max(scores) + 1e-9


def test_a_measured_credibility_moves_the_score_by_its_documented_weight() -> None:
    # 2 of 50 cells missing: completeness 96, uniqueness 100 → 97.33 → 97 (docs/quality.md).
    stored = score_table(five_columns(missing=2), now=NOW).to_dict()
    assert stored["score"] == 97
    found = credibility_of([RatedDelivery(5, 5_500)], deliveries=1)
    report = rescore(stored, credibility=found)
    component = report.component("credibility")
    assert component.status == "measured" and component.effective_weight == 25.0
    # (20 × 96 + 10 × 100 + 10 × 67.74) / 40 = 89.94 → 90.
    assert report.exact == pytest.approx((1_920 + 1_000 + 10 * 1_050_000 / 15_500) / 40, abs=1e-4)
    assert report.score == 90
    assert rescore(report.to_dict(), credibility=None).score == 97


def test_rescoring_keeps_every_other_component_and_the_measurement_time() -> None:
    stored = score_table(five_columns(missing=2), now=NOW).to_dict()
    report = rescore(stored, credibility=credibility_of([RatedDelivery(3, 100)], deliveries=1))
    assert report.measured_at == NOW
    assert report.component("completeness").score == 96.0
    assert report.component("completeness").details == stored["components"][0]["details"]


def licence(revision: int, covering: str, expires_at: datetime | None = None) -> Licence:
    return Licence(
        trade_id="t",
        buyer_id="b",
        dataset_id="d",
        purpose="research.academic",
        revision=revision,
        covers=covering,
        expires_at=expires_at,
    )


@pytest.mark.parametrize(
    ("covering", "entitled"),
    [("revision", [2]), ("history", [1, 2]), ("updates", [2, 3])],
)
def test_a_licence_covers_the_revisions_its_listing_states(
    covering: str, entitled: list[int]
) -> None:
    bought = licence(2, covering)
    assert [n for n in (1, 2, 3) if covers(bought, number=n, published_at=NOW)] == entitled


def test_updates_cover_only_revisions_published_during_the_term() -> None:
    bought = licence(1, "updates", expires_at=NOW)
    assert covers(bought, number=2, published_at=datetime(2026, 11, 30, tzinfo=UTC))
    assert not covers(bought, number=2, published_at=NOW)
