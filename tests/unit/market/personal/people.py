"""Small builders for PDS tests: people, verified recipients, banks, signed-in sessions, checkups."""

from datetime import UTC, datetime
from typing import Any

from market.models import Participant
from market.service import Market

PASSWORD = "correct horse battery"
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def person(market: Market, name: str = "Person") -> tuple[Participant, Any]:
    """An individual with a password and a fresh session."""
    someone, _ = market.accounts.register(name=name, kind="individual")
    market.pds.set_password(person=someone, password=PASSWORD, current_password=None)
    row, _ = market.pds.sign_in(person_id=someone.id, password=PASSWORD)
    return someone, row


def recipient(
    market: Market,
    *,
    category: str = "insurance",
    country: str = "JP",
    verified: bool = True,
    name: str = "Insurer",
) -> Participant:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    buyer, _ = market.accounts.register(
        name=name,
        kind="business",
        recipient_category=category,
        country=country,
        security_profile={
            "certifications": ["ISMS"],
            "encryption_at_rest": True,
            "retention_days": 365,
        },
    )
    if verified:
        buyer = market.accounts.set_verification(
            operator=operator, participant_id=buyer.id, verified=True, reason="checked register"
        )
    return buyer


def checkup(day: int = 1) -> dict[str, Any]:
    return {"checked_on": f"2026-04-{day:02d}", "systolic_bp": 120 + day, "hba1c_percent": 5.4}


def conditions(**overrides: Any) -> dict[str, Any]:
    return {"purposes": ["research.medical"], "categories": ["health_checkup"], **overrides}
