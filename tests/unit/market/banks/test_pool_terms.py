"""A pool's engine terms: for random people, conditions and recipients, the engine lets a bid
match exactly when a brute-force count of the people who allow it reaches the minimum cohort."""

from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from market.banks.hooks import eligible_recipients
from market.banks.judgement import ProvisionAsk, Standing
from market.models import Participant
from market.personal.recipients import recipient_view
from matching.terms import AskTerms, BidConstraints, eligible
from tests.unit.market.banks.test_judgement import (
    COUNTRIES,
    PURPOSES,
    RECIPIENT_CATEGORIES,
    RECIPIENTS,
    brute_force_allows,
    people_strategy,
    times,
)

candidates_strategy = st.lists(
    st.builds(
        Participant,
        id=st.sampled_from(RECIPIENTS),
        name=st.just("recipient"),
        kind=st.just("business"),
        recipient_category=st.none() | st.sampled_from(RECIPIENT_CATEGORIES),
        country=st.sampled_from(COUNTRIES),
        verification=st.sampled_from(["verified", "unverified"]),
    ),
    max_size=len(RECIPIENTS),
    unique_by=lambda p: p.id,
)


def allowing(people: list[Standing], ask: ProvisionAsk) -> int:
    return sum(
        1 for p in people if p.held & ask.categories and brute_force_allows(p.conditions, ask)
    )


@settings(max_examples=300, deadline=None)
@given(
    people=people_strategy,
    candidates=candidates_strategy,
    categories=st.frozensets(st.sampled_from(["health_checkup", "profile"]), min_size=1),
    price=st.integers(0, 300),
    min_cohort=st.integers(1, 6),
    at=times,
)
def test_the_engine_matches_exactly_the_recipients_whose_cohort_reaches_the_minimum(
    people: list[Standing],
    candidates: list[Participant],
    categories: frozenset[str],
    price: int,
    min_cohort: int,
    at: datetime,
) -> None:
    found = eligible_recipients(
        people,
        candidates=candidates,
        categories=categories,
        price_per_record_yen=price,
        min_cohort=min_cohort,
        at=at,
        purposes=PURPOSES,
    )
    terms = AskTerms(
        dataset_id="pool",
        data_class="personal",
        allowed_purposes=frozenset(PURPOSES),
        purpose_recipients=frozenset((p, r) for p, ids in found.items() for r in ids),
    )
    for candidate in candidates:
        view = recipient_view(candidate)
        for purpose in PURPOSES:
            ask = ProvisionAsk(
                recipient_id=view.id,
                recipient_category=view.category,
                recipient_country=view.country,
                purpose=purpose,
                categories=categories,
                price_per_record_yen=price,
                at=at,
            )
            bid = BidConstraints(purpose=purpose)
            assert eligible(candidate.id, bid, "bank", terms) == (
                allowing(people, ask) >= min_cohort
            )


def test_a_recipient_missing_from_the_terms_is_served_by_no_pool() -> None:
    terms = AskTerms(
        dataset_id="pool",
        data_class="personal",
        allowed_purposes=frozenset(PURPOSES),
        purpose_recipients=frozenset({("research.medical", "r1")}),
    )
    newcomer = BidConstraints(purpose="research.medical", recipient_categories=frozenset())
    assert not eligible("r9", newcomer, "bank", terms)
    assert eligible("r1", newcomer, "bank", terms)
