"""The accounts desk: registration, API keys, authentication and operator verification."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from market import participants
from market.desk import UnitOfWork
from market.models import ApiKey, Participant


class AccountDesk(UnitOfWork):
    """Participants and their keys; `on_recipients_changed` lets PDS listings see new recipients."""

    def __init__(
        self,
        engine: Engine,
        *,
        after_commit: Callable[[], None],
        on_recipients_changed: Callable[[], object] = lambda: None,
    ) -> None:
        super().__init__(engine, after_commit=after_commit)
        self.on_recipients_changed = on_recipients_changed

    def register(
        self,
        *,
        name: str,
        kind: str,
        recipient_category: str | None = None,
        credit_limit_yen: int = 0,
        display_name: str | None = None,
        country: str = "JP",
        security_profile: dict[str, Any] | None = None,
    ) -> tuple[Participant, str]:
        """A new participant and its first API key (shown once)."""
        registered = self.transaction(
            lambda s: participants.register_participant(
                session=s,
                name=name,
                kind=kind,
                recipient_category=recipient_category,
                credit_limit_yen=credit_limit_yen,
                display_name=display_name,
                country=country,
                security_profile=security_profile,
            )
        )
        if registered[0].kind == "business":
            # A new recipient may be one that people's conditions allow (by id or unrestricted).
            self.on_recipients_changed()
        return registered

    def issue_key(self, participant: Participant) -> str:
        """A new API key for the participant (shown once), for rotating keys without downtime."""
        return self.transaction(
            lambda s: participants.issue_additional_key(session=s, participant=participant)
        )

    def api_keys(self, participant: Participant) -> list[ApiKey]:
        return self.read(lambda s: participants.live_keys(session=s, participant_id=participant.id))

    def revoke_own_key(self, *, participant: Participant, key_id: str) -> ApiKey:
        return self.transaction(
            lambda s: participants.revoke_own_api_key(
                session=s, participant=participant, key_id=key_id
            )
        )

    def revoke_key(self, *, operator: Participant, key_id: str, reason: str) -> ApiKey:
        """An operator revokes a key (audited)."""
        return self.transaction(
            lambda s: participants.revoke_api_key(
                session=s, operator=operator, key_id=key_id, reason=reason
            )
        )

    def authenticate(self, api_key: str) -> Participant:
        return self.read(lambda s: participants.authenticate(session=s, presented=api_key))

    def set_verification(
        self, *, operator: Participant, participant_id: str, verified: bool, reason: str
    ) -> Participant:
        """Verify a participant's declared category, country and security profile (audited)."""
        verified_row = self.transaction(
            lambda s: participants.set_verification(
                session=s,
                operator=operator,
                participant_id=participant_id,
                verified=verified,
                reason=reason,
            )
        )
        # A verified category or country changes whom people's conditions allow.
        self.on_recipients_changed()
        return verified_row
