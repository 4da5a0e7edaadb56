"""The credit desk: credit limits, prepaid deposits, invoices paid by transfer, balances.

Kept apart from the settlement desk (documents, refunds, payouts, payments) because the risk
stage of the order desk answers part of a buyer's standing: what open bids reserve.
"""

from collections.abc import Callable

from sqlalchemy import Engine

from market.desk import UnitOfWork
from market.models import Invoice, Participant
from market.settlement import credit
from market.settlement.invoices import mark_invoice_paid, outstanding_yen
from market.settlement.ledger import trial_balance
from market.settlement.statements import seller_balance
from market.trading.risk import RiskStage


class CreditDesk(UnitOfWork):
    def __init__(
        self, engine: Engine, risk: RiskStage, *, after_commit: Callable[[], None]
    ) -> None:
        super().__init__(engine, after_commit=after_commit)
        self.risk = risk

    def grant_credit(
        self, *, operator: Participant, participant_id: str, credit_limit_yen: int, reason: str
    ) -> Participant:
        """Set a participant's credit limit (audited)."""
        return self.transaction(
            lambda s: credit.grant_credit(
                session=s,
                operator=operator,
                participant_id=participant_id,
                credit_limit_yen=credit_limit_yen,
                reason=reason,
            )
        )

    def record_deposit(
        self,
        *,
        operator: Participant,
        participant_id: str,
        amount_yen: int,
        reference: str,
        reason: str,
    ) -> int:
        """Book a prepaid deposit (audited); returns the participant's deposit balance."""
        return self.transaction(
            lambda s: credit.record_deposit(
                session=s,
                operator=operator,
                participant_id=participant_id,
                amount_yen=amount_yen,
                reference=reference,
                reason=reason,
            )
        )

    def mark_invoice_paid(
        self, *, operator: Participant, invoice_id: str, reference: str, reason: str
    ) -> Invoice:
        """Record a bank transfer paying an invoice (audited; a second payment is a conflict)."""
        return self.transaction(
            lambda s: mark_invoice_paid(
                session=s,
                operator=operator,
                invoice_id=invoice_id,
                reference=reference,
                reason=reason,
            )
        )

    def standing(self, participant: Participant) -> dict[str, int]:
        """What a buyer may still commit, and why: limit, deposits, unpaid invoices, reservations."""
        reserved = self.risk.reserved_yen(participant.id)
        return self.read(
            lambda s: {
                "credit_limit_yen": participant.credit_limit_yen,
                "deposit_yen": credit.deposit_balance_yen(session=s, buyer_id=participant.id),
                "unpaid_invoices_yen": outstanding_yen(session=s, buyer_id=participant.id),
                "reserved_by_open_bids_yen": reserved,
                "available_yen": credit.available_yen(
                    session=s, buyer=participant, reserved_yen=reserved
                ),
            }
        )

    def seller_balance(self, seller: Participant) -> dict[str, int]:
        return self.read(lambda s: seller_balance(session=s, seller_id=seller.id))

    def trial_balance(self) -> dict[str, int]:
        return self.read(lambda s: trial_balance(session=s))
