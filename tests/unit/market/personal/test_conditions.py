"""Conditions bodies: purpose groups expand, contradictions and past expiries are refused."""

from datetime import UTC, datetime, timedelta

import pytest

from market.personal.conditions import from_body, normalize_body
from market.personal.errors import ConditionsRejected

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_purpose_groups_expand_to_leaves_and_the_body_round_trips() -> None:
    body = normalize_body(
        {
            "purposes": ["research"],
            "categories": ["health_checkup"],
            "expires_at": (NOW + timedelta(days=30)).isoformat(),
        },
        now=NOW,
    )
    conditions = from_body(3, body)
    assert conditions.purposes == {"research.academic", "research.medical", "research.statistics"}
    assert conditions.version == 3 and conditions.expires_at == NOW + timedelta(days=30)
    assert not conditions.abroad_allowed


@pytest.mark.parametrize(
    "body",
    [
        {"purposes": ["astrology"], "categories": ["profile"]},
        {"purposes": ["research"], "categories": ["genome"]},
        {"purposes": [], "categories": ["profile"]},
        {"purposes": ["research"], "categories": ["profile"], "min_price_per_record_yen": -1},
        {
            "purposes": ["research"],
            "categories": ["profile"],
            "expires_at": "2026-05-01T00:00:00+00:00",
        },
        {"purposes": ["research"], "categories": ["profile"], "expires_at": "2027-05-01T00:00:00"},
        {
            "purposes": ["research"],
            "categories": ["profile"],
            "allowed_recipients": ["a"],
            "denied_recipients": ["a"],
        },
    ],
)
def test_bodies_that_cannot_be_followed_are_refused(body: dict) -> None:
    with pytest.raises(ConditionsRejected):
        normalize_body(body, now=NOW)
