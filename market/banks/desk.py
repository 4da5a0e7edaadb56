"""The banks' entry points for the API: pooled requests, cohorts and the ethics board."""

from typing import Any

from sqlmodel import Session

from market.banks import board, orders, pool, trades
from market.banks.orders import CohortView
from market.banks.tables import BoardCase
from market.models import Participant, Trade
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
        """The board's decision; a trade waiting on it is settled or unwound in the same
        transaction."""

        def work(s: Session) -> tuple[tuple[BoardCase, ProvisionRequest], Any | None]:
            case, request = board.decide_case(
                session=s,
                bank=bank,
                request_id=request_id,
                approve=approve,
                reason=reason,
                member=member,
                now=self.now(),
                ref_key=self.ref_key,
            )
            unwind = trades.conclude(
                session=s, request=request, now=self.now(), fee_bps=self.settings.market_fee_bps
            )
            return (case, request), unwind

        return self.decided(work)

    # the order book's questions
    def cohort(self, *, viewer: Participant, listing_id: str, purpose: str) -> CohortView:
        """How many people a purchase of a PDS listing would deliver for the viewer's purpose."""
        return self.read(
            lambda s: orders.cohort_for(
                session=s, viewer=viewer, listing_id=listing_id, purpose=purpose, now=self.now()
            )
        )

    def shown_seller_ids(self, trades_seen: list[Trade]) -> dict[str, str]:
        """Per trade id, the seller as its buyer sees it (a person only pseudonymously)."""
        return self.read(
            lambda s: {
                t.id: trades.shown_seller_id(session=s, trade=t, ref_key=self.ref_key)
                for t in trades_seen
            }
        )

    def licence_request(self, *, buyer: Participant, licence_id: str) -> str:
        """The provision request a licence of personal records was delivered through."""
        return self.read(
            lambda s: orders.request_of_licence(session=s, buyer=buyer, licence_id=licence_id)
        )
