"""Settlement's entry points for the API and the command line; `Market` wires one."""

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

import matching
from market import db
from market.audit import record_operator_action
from market.engine_channel.forwarding import EngineInOwnerOnly
from market.models import Instrument, Participant, utcnow
from market.settings import Settings
from market.settlement import (
    check,
    disputes,
    documents,
    payouts,
    profiles,
    reconcile,
    refunds,
    statements,
)
from market.settlement.invoices import (
    TERMS_KEY,
    SettlementTerms,
    get_invoice_for,
    register_terms,
)
from market.settlement.ledger import PAYMENT_CLEARING_ACCOUNT
from market.settlement.payments import (
    booking,
    proceeds,
    provider_reconcile,
    relisting,
    webhooks,
)
from market.settlement.payments.configured import provider_from
from market.settlement.payments.driver import PaymentDriver, connect_account
from market.settlement.payments.provider import Payments, ProviderDeclined, ProviderUnavailable
from market.settlement.tables import (
    Dispute,
    InvoiceRefund,
    Payment,
    PaymentAccount,
    WebhookEvent,
)

T = TypeVar("T")


class TradingUnit(Protocol):
    """What failing a trade needs of the order desk (market/trading/desk.py): its trading
    transaction, and journaling, applying and booking an engine command inside it."""

    running: bool

    def transaction(self, work: Callable[[Session], T]) -> T: ...

    def submit(self, session: Session, command: Any | None) -> list[Any]: ...

    def book(self, session: Session, events: list[Any], placed_id: str | None = None) -> Any: ...


def terms_from(settings: Settings) -> SettlementTerms:
    return SettlementTerms(
        legal_name=settings.market_legal_name,
        registration_number=settings.market_invoice_registration_number,
        payment_terms_days=settings.payment_terms_days,
        card_payments=bool(settings.stripe_api_key),
        payment_deadline_hours=settings.payment_deadline_hours,
    )


class SettlementDesk:
    """Tax profiles, instrument fees, refunds, payouts, documents, statements and checks, and
    card payments (cards, the payment run, webhooks, disputes)."""

    def __init__(
        self, engine: Engine, settings: Settings, *, after_commit: Callable[[], None]
    ) -> None:
        self.db = engine
        self.terms = terms_from(settings)
        self.after_commit = after_commit
        self.webhook_secret = settings.stripe_webhook_secret
        self.payments = PaymentDriver(engine, provider_from(settings))
        # The order desk, wired by the market: a trade failed unpaid is failed in its trading
        # transaction, so the licences it gives back to the order book are journaled with it.
        self.orders: TradingUnit | None = None
        register_terms(engine, self.terms)

    def use_provider(self, provider: Payments) -> None:
        """Drive payments through another provider (a Stripe client on a recording transport)."""
        self.payments.provider = provider

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
        """Refund (part of) a paid invoice; a card payment is refunded at the provider too."""

        def work(session: Session) -> InvoiceRefund:
            payment = booking.paid_by_card(session=session, invoice_id=invoice_id)
            card = payment is not None and payment.status == "succeeded"
            if payment is not None and card:
                booking.require_refundable(payment=payment, amount_yen=amount_yen)
            refund = refunds.refund_invoice(
                session=session,
                operator=operator,
                invoice_id=invoice_id,
                amount_yen=amount_yen,
                reason=reason,
                **({"source": PAYMENT_CLEARING_ACCOUNT} if card else {}),
            )
            if card and payment is not None:
                booking.card_refund_booked(
                    session=session, payment=payment, refund=refund, now=utcnow()
                )
                self.payments.queue_refund(session=session, payment=payment, refund=refund)
                if proceeds.book_refund_reversal(session=session, payment=payment, refund=refund):
                    self.payments.queue_transfer_reversal(
                        session=session, payment=payment, refund=refund
                    )
            return refund

        refund = self._transaction(work)
        self.run_payments()
        return refund

    # Card payments -------------------------------------------------------------------------

    def register_card(self, *, buyer: Participant, payment_method_id: str) -> PaymentAccount:
        """Keep the buyer's card (a provider PaymentMethod id, never card details)."""
        try:
            account = self.payments.register_card(buyer=buyer, payment_method_id=payment_method_id)
        except ProviderDeclined as declined:
            raise booking.CardRefused(f"{declined.reason}; give another card") from None
        except ProviderUnavailable:
            raise booking.ProviderUnreachable(
                "the payment provider did not answer; your card was not kept, try again"
            ) from None
        self.run_payments()
        return account

    def set_connected_account(
        self, *, operator: Participant, seller_id: str, account_id: str, reason: str
    ) -> PaymentAccount:
        """Pay a seller's card sales to its Connect account, audited in the same transaction (an
        audit that fails leaves the account unchanged)."""

        def connect(session: Session) -> PaymentAccount:
            account = connect_account(session=session, seller_id=seller_id, account_id=account_id)
            record_operator_action(
                session=session,
                operator=operator,
                action="payments.connected_account_set",
                target_id=seller_id,
                reason=reason,
                details={"account": account_id},
            )
            return account

        return self._transaction(connect)

    @property
    def takes_cards(self) -> bool:
        return self.payments.provider.name != "invoice"

    def run_payments(self) -> int:
        """Make every due provider call and fail trades past their payment deadline; returns
        how many calls are still waiting for an answer."""
        if self.payments.provider.name == "invoice":
            return 0
        waiting = self.payments.run_pending()
        self.fail_overdue()
        self.after_commit()
        return waiting

    def fail_overdue(self) -> int:
        """Fail the trades whose card payment missed its deadline and give their licences back
        to the order book; returns how many failed.

        Only the engine's owner does it (a stopped market or a worker leaves them to it): the
        licences go back to the listing in the engine in the same transaction.
        """
        now = self.payments.now()
        orders = self.orders
        if orders is None or not orders.running:
            return 0
        if not self._read(lambda s: booking.overdue(session=s, now=now)):
            return 0

        def work(session: Session) -> int:
            failed = booking.expire_overdue(session=session, now=now)
            for trade in failed:
                for command in relisting.give_back(session=session, trade=trade):
                    placed = command.id if isinstance(command, matching.Limit) else None
                    orders.book(session, orders.submit(session, command), placed_id=placed)
            return len(failed)

        try:
            return orders.transaction(work)
        except EngineInOwnerOnly:
            return 0

    def handle_webhook(self, *, payload: bytes, signature: str | None) -> str:
        """Verify and apply one provider event (once per event id)."""
        if not self.webhook_secret:
            raise webhooks.InvalidWebhook(
                "this market has no webhook secret (DATAMARKET_STRIPE_WEBHOOK_SECRET)"
            )
        event = webhooks.verify(payload=payload, signature=signature, secret=self.webhook_secret)
        elsewhere = self._refunded_elsewhere(event)
        try:
            outcome = self._transaction(
                lambda s: webhooks.handle(
                    session=s, event=event, now=utcnow(), refunded_elsewhere_yen=elsewhere
                )
            )
        except IntegrityError:
            return "duplicate"  # the same event, delivered twice at once
        # Any call the event makes due is made by the next payment run, not while Stripe waits
        # (only `charge.refunded` asks the provider first, for the refunds it holds).
        return outcome

    def _refunded_elsewhere(self, event: dict[str, Any]) -> int | None:
        """For a new `charge.refunded`: what the provider refunded outside the market, asked
        before the transaction (no call is made while a transaction is open)."""
        if event.get("type") != "charge.refunded":
            return None
        charge = (event.get("data") or {}).get("object") or {}

        def payment(session: Session) -> Payment | None:
            if session.get(WebhookEvent, event["id"]) is not None:
                return None
            return webhooks.payment_of_charge(session=session, charge=charge)

        found = self._read(payment)
        if found is None or found.intent_id is None:
            return None
        try:
            return self.payments.provider.refunded_elsewhere(
                intent_id=found.intent_id, captured_yen=found.capture_yen
            )
        except ProviderUnavailable:
            raise booking.ProviderUnreachable(
                "the payment provider did not answer about this refund; nothing was changed, "
                "and the event can be delivered again"
            ) from None
        except ProviderDeclined:
            return None

    def payments_of(self, *, buyer: Participant) -> list[Payment]:
        return self._read(
            lambda s: list(
                s.exec(
                    select(Payment)
                    .where(Payment.buyer_id == buyer.id)
                    .order_by(col(Payment.created_at).desc())
                    .limit(100)
                )
            )
        )

    def disputes(self, *, limit: int = 100) -> list[Dispute]:
        return self._read(lambda s: disputes.list_disputes(session=s, limit=limit))

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
        """The ledger against the invoices and refunds, and the payments against the provider."""
        return self._read(
            lambda s: (
                reconcile.reconcile(session=s)
                + provider_reconcile.reconcile_provider(session=s, provider=self.payments.provider)
            )
        )
