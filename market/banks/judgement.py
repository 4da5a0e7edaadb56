"""Per-person judgement: do a person's current conditions cover a provision request? Pure, no I/O.

The bank (or the PDS, for a person's own approval) asks this of every person; only those covered
provide records. `judge` names the first rule that fails so a refusal can say which; `cohort`
applies it to many people at once.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from market.personal.categories import SENSITIVE
from market.personal.conditions import Conditions

HOME_COUNTRY = "JP"
# docs/purposes.md: never on 要配慮個人情報 without the person's explicit, item-level consent, so a
# bank acting on standing conditions may not decide these for the person.
EXPLICIT_ONLY_ON_SENSITIVE = frozenset({"finance.credit", "marketing.advertising"})

Method = Literal["explicit", "delegated"]


@dataclass(frozen=True)
class ProvisionAsk:
    """What is asked of each person; category and country only as verified by an operator."""

    recipient_id: str
    recipient_category: str | None
    recipient_country: str | None
    purpose: str
    categories: frozenset[str]
    price_per_record_yen: int
    at: datetime
    method: Method = "delegated"
    anonymized: bool = False


@dataclass(frozen=True)
class Standing:
    """A person as the judgement sees them: conditions in effect and the categories they hold."""

    person_id: str
    conditions: Conditions | None
    held: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    covered: bool
    rule: str
    version: int | None = None


def _recipient_allowed(c: Conditions, ask: ProvisionAsk) -> bool:
    """Denial by id wins; a named allowance beats category rules; unverified categories match none."""
    if ask.recipient_id in c.denied_recipients:
        return False
    if ask.recipient_id in c.allowed_recipients:
        return True
    category = ask.recipient_category
    if c.denied_recipient_categories and (
        category is None or category in c.denied_recipient_categories
    ):
        return False
    if c.allowed_recipient_categories or c.allowed_recipients:
        return category is not None and category in c.allowed_recipient_categories
    return True


def judge(conditions: Conditions | None, ask: ProvisionAsk) -> Verdict:
    """Whether `conditions` cover `ask`, and if not the first rule that fails."""
    if conditions is None:
        return Verdict(False, "no_conditions")
    version = conditions.version
    checks = (
        ("expired", conditions.expires_at is None or ask.at < conditions.expires_at),
        ("recipient", _recipient_allowed(conditions, ask)),
        ("purpose", ask.purpose in conditions.purposes),
        ("category", bool(ask.categories) and ask.categories <= conditions.categories),
        ("abroad", conditions.abroad_allowed or ask.recipient_country == HOME_COUNTRY),
        ("anonymized_only", ask.anonymized or not conditions.anonymized_only),
        ("price", ask.price_per_record_yen >= conditions.min_price_per_record_yen),
        (
            "explicit_consent_required",
            ask.method == "explicit"
            or ask.purpose not in EXPLICIT_ONLY_ON_SENSITIVE
            or not ask.categories & SENSITIVE,
        ),
    )
    for rule, holds in checks:
        if not holds:
            return Verdict(False, rule, version)
    return Verdict(True, "covered", version)


def cohort(people: Iterable[Standing], ask: ProvisionAsk) -> list[str]:
    """Ids of the people who would provide records: covered, and holding a requested category."""
    return [
        person.person_id
        for person in people
        if person.held & ask.categories and judge(person.conditions, ask).covered
    ]
