"""Per-person judgement: each rule on its own, and a property test against a brute-force filter."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from market.banks.judgement import ProvisionAsk, Standing, cohort, judge
from market.personal.categories import CATEGORIES, SENSITIVE
from market.personal.conditions import Conditions

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BASE = Conditions(
    version=1, purposes=frozenset({"research.medical"}), categories=frozenset({"health_checkup"})
)
ASK = ProvisionAsk(
    recipient_id="insurer",
    recipient_category="insurance",
    recipient_country="JP",
    purpose="research.medical",
    categories=frozenset({"health_checkup"}),
    price_per_record_yen=100,
    at=NOW,
)


def test_conditions_that_allow_everything_asked_cover_it() -> None:
    assert judge(BASE, ASK).covered


def test_each_rule_names_itself() -> None:
    cases = {
        "expired": (replace(BASE, expires_at=NOW), ASK),
        "recipient": (replace(BASE, denied_recipient_categories=frozenset({"insurance"})), ASK),
        "purpose": (BASE, replace(ASK, purpose="marketing.analytics")),
        "category": (BASE, replace(ASK, categories=frozenset({"health_checkup", "profile"}))),
        "abroad": (BASE, replace(ASK, recipient_country="US")),
        "anonymized_only": (replace(BASE, anonymized_only=True), ASK),
        "price": (replace(BASE, min_price_per_record_yen=101), ASK),
        "explicit_consent_required": (
            replace(BASE, purposes=frozenset({"finance.credit"})),
            replace(ASK, purpose="finance.credit"),
        ),
    }
    for rule, (conditions, ask) in cases.items():
        assert judge(conditions, ask).rule == rule
    assert judge(None, ASK).rule == "no_conditions"


def test_unverified_recipients_match_no_category_rule_but_can_be_named() -> None:
    unverified = replace(ASK, recipient_category=None, recipient_country=None)
    allowing = replace(
        BASE, allowed_recipient_categories=frozenset({"insurance"}), abroad_allowed=True
    )
    assert judge(allowing, unverified).rule == "recipient"
    named = replace(allowing, allowed_recipients=frozenset({"insurer"}))
    assert judge(named, unverified).covered
    assert judge(BASE, unverified).rule == "abroad"


def test_a_person_may_explicitly_consent_to_credit_use_of_health_data() -> None:
    credit = replace(BASE, purposes=frozenset({"finance.credit"}))
    assert judge(credit, replace(ASK, purpose="finance.credit", method="explicit")).covered


PURPOSES = ["research.medical", "health.care", "finance.credit", "mobility.transport"]
RECIPIENTS = ["r1", "r2", "r3"]
RECIPIENT_CATEGORIES = ["insurance", "research", "retail"]
COUNTRIES = ["JP", "US", "DE"]
CODES = sorted(CATEGORIES)
times = st.integers(-3, 3).map(lambda d: NOW + timedelta(days=d))


def subsets(items: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(items), max_size=len(items))


def mostly(permissive: object, other: st.SearchStrategy) -> st.SearchStrategy:
    """The permissive value three times in four, so that many people are covered."""
    return st.one_of(st.just(permissive), st.just(permissive), st.just(permissive), other)


conditions_strategy = st.builds(
    Conditions,
    version=st.integers(1, 5),
    purposes=mostly(frozenset(PURPOSES), subsets(PURPOSES)),
    categories=mostly(frozenset(CODES), subsets(CODES)),
    allowed_recipient_categories=mostly(frozenset(), subsets(RECIPIENT_CATEGORIES)),
    denied_recipient_categories=mostly(frozenset(), subsets(RECIPIENT_CATEGORIES)),
    allowed_recipients=mostly(frozenset(), subsets(RECIPIENTS)),
    denied_recipients=mostly(frozenset(), subsets(RECIPIENTS)),
    abroad_allowed=st.booleans(),
    anonymized_only=mostly(False, st.booleans()),
    min_price_per_record_yen=mostly(0, st.integers(0, 300)),
    expires_at=mostly(None, times),
)
people_strategy = st.lists(
    st.builds(
        Standing,
        person_id=st.uuids().map(str),
        conditions=st.one_of(
            conditions_strategy, conditions_strategy, conditions_strategy, st.none()
        ),
        held=subsets(CODES),
    ),
    max_size=25,
)
ask_strategy = st.builds(
    ProvisionAsk,
    recipient_id=st.sampled_from(RECIPIENTS),
    recipient_category=st.none() | st.sampled_from(RECIPIENT_CATEGORIES),
    recipient_country=mostly("JP", st.none() | st.sampled_from(COUNTRIES)),
    purpose=st.sampled_from(PURPOSES),
    categories=st.frozensets(st.sampled_from(CODES), min_size=1, max_size=3),
    price_per_record_yen=st.integers(0, 300),
    at=times,
    method=st.sampled_from(["explicit", "delegated"]),
    anonymized=st.booleans(),
)


def brute_force_allows(c: Conditions | None, a: ProvisionAsk) -> bool:
    """The rules of docs/personal-data.md, written out once more as one boolean expression."""
    if c is None:
        return False
    named = a.recipient_id in c.allowed_recipients
    by_category = (
        a.recipient_category is not None and a.recipient_category in c.allowed_recipient_categories
    )
    open_to_all = not c.allowed_recipients and not c.allowed_recipient_categories
    category_denied = bool(c.denied_recipient_categories) and (
        a.recipient_category is None or a.recipient_category in c.denied_recipient_categories
    )
    recipient_ok = a.recipient_id not in c.denied_recipients and (
        named or (not category_denied and (by_category or open_to_all))
    )
    return (
        (c.expires_at is None or a.at < c.expires_at)
        and recipient_ok
        and a.purpose in c.purposes
        and all(code in c.categories for code in a.categories)
        and (c.abroad_allowed or a.recipient_country == "JP")
        and (a.anonymized or not c.anonymized_only)
        and a.price_per_record_yen >= c.min_price_per_record_yen
        and not (
            a.method == "delegated"
            and a.purpose in ("finance.credit", "marketing.advertising")
            and any(code in SENSITIVE for code in a.categories)
        )
    )


@settings(max_examples=600, deadline=None)
@given(people=people_strategy, ask=ask_strategy)
def test_the_cohort_equals_a_brute_force_filter(people: list[Standing], ask: ProvisionAsk) -> None:
    expected = [
        p.person_id
        for p in people
        if any(code in p.held for code in ask.categories) and brute_force_allows(p.conditions, ask)
    ]
    assert cohort(people, ask) == expected
