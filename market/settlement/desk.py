"""Settlement's entry points for the API and the command line; `Market` wires one."""

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from market import db
from market.models import Instrument, Participant, utcnow
from market.settings import Settings
from market.settlement import check, documents, payouts, profiles, reconcile, refunds, statements
from market.settlement.invoices import (
    TERMS_KEY,
    SettlementTerms,
    get_invoice_for,
    register_terms,
)
from market.settlement.tables import InvoiceRefund

T = TypeVar("T")


def terms_from(settings: Settings) -> SettlementTerms:
    return SettlementTerms(
        legal_name=settings.market_legal_name,
        registration_number=settings.market_invoice_registration_number,
        payment_terms_days=settings.payment_terms_days,
    )


class SettlementDesk:
    """Tax profiles, instrument fees, refunds, payouts, documents, statements and checks."""

    def __init__(
        self, engine: Engine, settings: Settings, *, after_commit: Callable[[], None]
    ) -> None:
        self.db = engine
        self.terms = terms_from(settings)
        self.after_commit = after_commit
        register_terms(engine, self.terms)

    def bind(self, session: Session) -> Session:
        """Give a unit of work the market's invoicing terms (read when a trade is invoiced)."""
        session.info[TERMS_KEY] = self.terms
        return session

    def _transaction(self, work: Callable[[Session], T]) -> T:
        with db.unit_of_work(self.db) as session:
            result = work(self.bind(session))
        self.after_commit()
        return result

    def _read(self, work: Callable[[Session], T]) -> T:
        with Session(self.db) as session:
            return work(session)

    def set_tax_profile(
        self,
        *,
        participant: Participant,
        taxable_business: bool,
        invoice_registration_number: str | None,
    ) -> Participant:
        return self._transaction(
            lambda s: profiles.set_tax_profile(
                session=s,
                participant=participant,
                taxable_business=taxable_business,
                invoice_registration_number=invoice_registration_number,
            )
        )

    def set_instrument_fees(
        self,
        *,
        operator: Participant,
        instrument: str,
        fee_bps: int,
        fee_minimum_yen: int,
        reason: str,
    ) -> Instrument:
        return self._transaction(
            lambda s: profiles.set_instrument_fees(
                session=s,
                operator=operator,
                instrument=instrument,
                fee_bps=fee_bps,
                fee_minimum_yen=fee_minimum_yen,
                reason=reason,
            )
        )

    def refund_invoice(
        self, *, operator: Participant, invoice_id: str, amount_yen: int, reason: str
    ) -> InvoiceRefund:
        return self._transaction(
            lambda s: refunds.refund_invoice(
                session=s,
                operator=operator,
                invoice_id=invoice_id,
                amount_yen=amount_yen,
                reason=reason,
            )
        )

    def record_payout(self, *, operator: Participant, seller_id: str, **fields: Any) -> int:
        return self._transaction(
            lambda s: payouts.record_payout(
                session=s, operator=operator, seller_id=seller_id, **fields
            )
        )

    def invoice_document(self, *, viewer: Participant, invoice_id: str) -> str:
        """The invoice as HTML: the original for its buyer, a copy for its seller."""

        def render(session: Session) -> str:
            invoice = get_invoice_for(session=session, viewer=viewer, invoice_id=invoice_id)
            copy = viewer.id != invoice.buyer_id
            return documents.render_invoice(invoice, seller_copy=copy, now=utcnow())

        return self._read(render)

    def return_invoice_document(self, *, viewer: Participant, refund_id: str) -> str:
        def render(session: Session) -> str:
            refund = refunds.get_refund_for(session=session, viewer=viewer, refund_id=refund_id)
            invoice = get_invoice_for(session=session, viewer=viewer, invoice_id=refund.invoice_id)
            return documents.render_return_invoice(refund, invoice)

        return self._read(render)

    def refunds_of(self, *, viewer: Participant, invoice_id: str) -> list[InvoiceRefund]:
        def find(session: Session) -> list[InvoiceRefund]:
            get_invoice_for(session=session, viewer=viewer, invoice_id=invoice_id)
            return list(
                session.exec(
                    select(InvoiceRefund)
                    .where(InvoiceRefund.invoice_id == invoice_id)
                    .order_by(col(InvoiceRefund.created_at).desc())
                )
            )

        return self._read(find)

    def statement(self, *, seller: Participant, month: str) -> dict[str, Any]:
        return self._read(
            lambda s: statements.seller_statement(session=s, seller_id=seller.id, month=month)
        )

    def check(self) -> list[str]:
        return self._read(lambda s: check.check_ledger(session=s))

    def reconcile(self) -> list[reconcile.Mismatch]:
        return self._read(lambda s: reconcile.reconcile(session=s))
