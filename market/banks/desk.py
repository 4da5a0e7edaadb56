"""The banks' entry points for the API: pooled requests, cohorts and the ethics board."""

from typing import Any

from market.banks import board, pool
from market.banks.tables import BoardCase
from market.models import Participant
from market.personal.desk import Desk
from market.personal.tables import ProvisionRequest


class BankDesk(Desk):
    def open_pool_request(
        self, *, recipient: Participant, bank_id: str, **terms: Any
    ) -> ProvisionRequest:
        return self.transaction(
            lambda s: pool.open_pool_request(
                session=s,
                recipient=recipient,
                bank_id=bank_id,
                now=self.now(),
                ref_key=self.ref_key,
                **terms,
            )
        )

    def cohort_size(self, *, recipient: Participant, bank_id: str, **terms: Any) -> int:
        return len(
            self.read(
                lambda s: pool.cohort_of(
                    session=s, bank_id=bank_id, recipient=recipient, now=self.now(), **terms
                )
            )
        )

    def board(
        self, *, bank: Participant, include_decided: bool = False
    ) -> list[tuple[BoardCase, ProvisionRequest]]:
        pool.require_bank(bank)
        return self.read(
            lambda s: board.board_queue(session=s, bank_id=bank.id, include_decided=include_decided)
        )

    def decide(
        self,
        *,
        bank: Participant,
        request_id: str,
        approve: bool,
        reason: str,
        member: str | None,
    ) -> tuple[BoardCase, ProvisionRequest]:
        return self.transaction(
            lambda s: board.decide_case(
                session=s,
                bank=bank,
                request_id=request_id,
                approve=approve,
                reason=reason,
                member=member,
                now=self.now(),
                ref_key=self.ref_key,
            )
        )
