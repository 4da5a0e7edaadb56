"""A recipient as consent and judgement see it: declared facts count only once verified."""

from dataclasses import dataclass, field
from typing import Any

from market.models import Participant


@dataclass(frozen=True)
class RecipientView:
    id: str
    name: str
    declared_category: str | None
    declared_country: str
    verified: bool
    security_profile: dict[str, Any] = field(default_factory=dict)

    @property
    def category(self) -> str | None:
        """The category that counts for conditions: only a verified one."""
        return self.declared_category if self.verified else None

    @property
    def country(self) -> str | None:
        """The country that counts for conditions: only a verified one."""
        return self.declared_country if self.verified else None


def recipient_view(participant: Participant) -> RecipientView:
    """Read the participant's declared and verified facts (fields the participant feature owns)."""
    return RecipientView(
        id=participant.id,
        name=participant.display_name or participant.name,
        declared_category=participant.recipient_category,
        declared_country=participant.country or "JP",
        verified=participant.verification == "verified",
        security_profile=dict(participant.security_profile or {}),
    )
