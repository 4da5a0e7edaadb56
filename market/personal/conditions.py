"""A person's standing conditions (予め指定した条件) as a pure value, parsed from its JSON body."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from market.personal.categories import UnknownCategory, require_categories
from market.personal.errors import ConditionsRejected
from market.purposes import UnknownPurpose, expand_purposes


@dataclass(frozen=True)
class Conditions:
    """What a person allows; `purposes` holds leaf codes (groups already expanded)."""

    version: int
    purposes: frozenset[str]
    categories: frozenset[str]
    allowed_recipient_categories: frozenset[str] = frozenset()
    denied_recipient_categories: frozenset[str] = frozenset()
    allowed_recipients: frozenset[str] = frozenset()
    denied_recipients: frozenset[str] = frozenset()
    abroad_allowed: bool = False
    anonymized_only: bool = False
    min_price_per_record_yen: int = 0
    expires_at: datetime | None = None


def normalize_body(body: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Check a conditions body and return it in stored form; raise ConditionsRejected."""
    try:
        purposes = expand_purposes(list(body.get("purposes", [])))
        categories = require_categories(list(body.get("categories", [])))
    except (UnknownPurpose, UnknownCategory) as exc:
        raise ConditionsRejected(str(exc)) from None
    if not purposes or not categories:
        raise ConditionsRejected(
            "conditions name at least one purpose and one data category; to allow nothing, "
            "leave delegation and decline requests instead"
        )
    minimum = int(body.get("min_price_per_record_yen", 0))
    if minimum < 0:
        raise ConditionsRejected("min_price_per_record_yen cannot be negative")
    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        expires_at = datetime.fromisoformat(expires_at)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ConditionsRejected(
                "expires_at needs a time zone (e.g. 2027-03-31T23:59:59+09:00)"
            )
        if expires_at <= now:
            raise ConditionsRejected("expires_at is in the past; choose a later expiry or none")
    allowed_categories = sorted(set(body.get("allowed_recipient_categories", [])))
    denied_categories = sorted(set(body.get("denied_recipient_categories", [])))
    allowed = sorted(set(body.get("allowed_recipients", [])))
    denied = sorted(set(body.get("denied_recipients", [])))
    if set(allowed) & set(denied) or set(allowed_categories) & set(denied_categories):
        raise ConditionsRejected("a recipient or category cannot be both allowed and denied")
    return {
        "purposes": sorted(purposes),
        "categories": sorted(categories),
        "allowed_recipient_categories": allowed_categories,
        "denied_recipient_categories": denied_categories,
        "allowed_recipients": allowed,
        "denied_recipients": denied,
        "abroad_allowed": bool(body.get("abroad_allowed", False)),
        "anonymized_only": bool(body.get("anonymized_only", False)),
        "min_price_per_record_yen": minimum,
        "expires_at": expires_at.isoformat() if expires_at is not None else None,
    }


def from_body(version: int, body: dict[str, Any]) -> Conditions:
    """The pure value of a stored (normalized) body."""
    expires = body.get("expires_at")
    return Conditions(
        version=version,
        purposes=frozenset(body["purposes"]),
        categories=frozenset(body["categories"]),
        allowed_recipient_categories=frozenset(body["allowed_recipient_categories"]),
        denied_recipient_categories=frozenset(body["denied_recipient_categories"]),
        allowed_recipients=frozenset(body["allowed_recipients"]),
        denied_recipients=frozenset(body["denied_recipients"]),
        abroad_allowed=body["abroad_allowed"],
        anonymized_only=body["anonymized_only"],
        min_price_per_record_yen=body["min_price_per_record_yen"],
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )
