"""The driver: makes the provider calls the booked payments need, each attempt committed first.

For every call the attempt row (its operation, number and idempotency key) is committed before
the call is sent. An answer settles the attempt; no answer (`ProviderUnavailable`) leaves it
`sent`, and the next run first asks the provider what became of it (the PaymentIntent's state)
and re-sends the same key only if nothing happened. The attempt number, and so the key, changes
only after a definite failure. So a retry after a lost response settles exactly once.
The transfers of pooled sales and their reversals are `transfers.py`.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from market import db
from market.errors import NotFound
from market.models import Participant, utcnow
from market.settlement.payments import booking, proceeds, transfers
from market.settlement.payments.attempts import idempotency_key as idempotency_key
from market.settlement.payments.attempts import new_attempt, open_attempt
from market.settlement.payments.provider import (
    IntentState,
    Payments,
    ProviderDeclined,
    ProviderUnavailable,
)
from market.settlement.payments.states import ACTIONABLE
from market.settlement.tables import InvoiceRefund, Payment, PaymentAccount, PaymentAttempt

log = logging.getLogger("datamarket.payments")
REFUND = booking.REFUND_OPERATION


def apply_state(*, session: Session, payment: Payment, state: IntentState, now: datetime) -> None:
    """Move a payment forward to what the provider says of its PaymentIntent."""
    if payment.intent_id is not None and payment.intent_id != state.intent_id:
        return  # an earlier, replaced PaymentIntent: its news is stale
    if state.status == "succeeded":
        booking.mark_succeeded(session=session, payment=payment, charge_id=state.charge_id)
    elif state.status == "requires_capture":
        status = "capture_due" if payment.trade_id is not None else "authorized"
        booking.move(session=session, payment=payment, status=status, charge_id=state.charge_id)
    elif state.status == "canceled":
        booking.move(session=session, payment=payment, status="cancelled")
    elif state.status == "requires_payment_method" and state.failure:
        reason = f"the card was declined ({state.failure})"
        booking.mark_failed(session=session, payment=payment, reason=reason, now=now)
    elif state.status == "requires_action":
        reason = "the card needs the buyer's authentication (3-D Secure); give another card"
        booking.mark_failed(session=session, payment=payment, reason=reason, now=now)
    elif state.status == "requires_confirmation":
        booking.move(session=session, payment=payment, status="created")


def connect_account(*, session: Session, seller_id: str, account_id: str) -> PaymentAccount:
    """Record the Connect account a seller's card sales are paid to."""
    if session.get(Participant, seller_id) is None:
        raise NotFound(f"participant {seller_id} does not exist")
    account = session.get(PaymentAccount, seller_id) or PaymentAccount(participant_id=seller_id)
    account.connected_account_id = account_id
    session.add(account)
    return account


class PaymentDriver:
    """Registers cards and drives every booked payment through the provider."""

    def __init__(
        self, engine: Engine, provider: Payments, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = engine
        self.provider = provider
        self.now = now
        # One run at a time in this process: the runner thread and a request (a refund, a new
        # card) never advance the same payment at once.
        self._running = threading.Lock()

    # Cards -------------------------------------------------------------------------------

    def register_card(self, *, buyer: Participant, payment_method_id: str) -> PaymentAccount:
        """Keep the buyer's card; with a provider, make the buyer a Customer (once) and attach
        it now, so a card the provider refuses is refused here. Failed trades are retried."""
        with Session(self.db) as session:
            account = session.get(PaymentAccount, buyer.id)
            customer_id = account.customer_id if account else None
        if self.provider.name != "invoice":
            customer_id = self._attach(buyer.id, customer_id, payment_method_id)
        with db.unit_of_work(self.db) as session:
            account = session.get(PaymentAccount, buyer.id) or PaymentAccount(
                participant_id=buyer.id
            )
            account.customer_id = customer_id
            account.payment_method_id = payment_method_id
            session.add(account)
            booking.retry_failed(session=session, buyer_id=buyer.id, now=self.now())
        return account

    def _attach(self, buyer_id: str, customer_id: str | None, payment_method_id: str) -> str:
        if customer_id is None:
            customer_id = self.provider.create_customer(
                participant_id=buyer_id, key=f"dm_customer_{buyer_id}"
            )
        self.provider.attach_card(
            customer_id=customer_id,
            payment_method_id=payment_method_id,
            key=f"dm_attach_{buyer_id}_{payment_method_id}",
        )
        return customer_id

    # The run -----------------------------------------------------------------------------

    def run_pending(self) -> int:
        """Advance every payment that has a call to make; returns how many are left waiting
        for an answer the provider did not give."""
        with self._running:
            return self._run_pending()

    def _run_pending(self) -> int:
        with db.unit_of_work(self.db) as session:
            proceeds.charge_pooled_trades(session=session)
        with Session(self.db) as session:
            due = session.exec(
                select(Payment.id)
                .where(col(Payment.status).in_(ACTIONABLE))
                .order_by(col(Payment.created_at))
            ).all()
            refunds = session.exec(
                select(PaymentAttempt.id).where(
                    PaymentAttempt.status == "sent",
                    col(PaymentAttempt.operation).startswith(REFUND),
                )
            ).all()
        waiting = 0
        for payment_id in due:
            try:
                self.advance(payment_id)
            except ProviderUnavailable:
                waiting += 1
        for attempt_id in refunds:
            try:
                self._send_refund(attempt_id)
            except ProviderUnavailable:
                waiting += 1
        waiting += transfers.send_transfers(engine=self.db, provider=self.provider, now=self.now)
        waiting += transfers.send_reversals(engine=self.db, provider=self.provider, now=self.now)
        self._book_fees()
        return waiting

    def queue_transfer_reversal(
        self, *, session: Session, payment: Payment, refund: InvoiceRefund
    ) -> None:
        """Commit the call reversing a pooled sale's transfer for the market's own refund, with
        the refund and its booking (`proceeds.book_refund_reversal`); sent after the commit."""
        transfers.queue_reversal(session=session, payment=payment, subject_id=refund.id)

    def _book_fees(self) -> None:
        """Book the processing fee of each succeeded charge whose fee is not booked yet, from
        the provider's balance transaction (a charge without one yet is asked again later)."""
        with Session(self.db) as session:
            unbooked = session.exec(
                select(Payment.id, Payment.intent_id).where(
                    Payment.status == "succeeded",
                    col(Payment.provider_fee_yen).is_(None),
                    col(Payment.intent_id).is_not(None),
                )
            ).all()
        for payment_id, intent_id in unbooked:
            try:
                state = self.provider.retrieve_intent(intent_id=intent_id or "")
            except ProviderUnavailable:
                return
            if state is None or state.fee_yen is None:
                continue
            with db.unit_of_work(self.db) as session:
                proceeds.book_provider_fee(
                    session=session, payment_id=payment_id, fee_yen=state.fee_yen
                )

    def advance(self, payment_id: str) -> None:
        """Make the next call of one payment, up to its next resting state."""
        for _ in range(3):  # create, confirm, and at most one more step per run
            with Session(self.db) as session:
                payment = session.get(Payment, payment_id)
                if payment is None or payment.status not in ACTIONABLE:
                    return
                account = session.get(PaymentAccount, payment.buyer_id)
            if payment.status == "requested":
                self._create(payment, account)
            elif payment.status == "created":
                self._step(payment, "confirm", self._confirm)
            elif payment.status == "capture_due":
                self._step(payment, "capture", self._capture)
            elif payment.status == "cancel_due":
                self._step(payment, "cancel", self._cancel)

    def _finish(
        self,
        attempt: PaymentAttempt,
        status: str,
        *,
        state: IntentState | None = None,
        failure: str | None = None,
    ) -> None:
        with db.unit_of_work(self.db) as session:
            row = session.get(PaymentAttempt, attempt.id)
            payment = session.get(Payment, attempt.payment_id)
            if row is None or payment is None:
                return
            row.status = status
            row.detail = (failure or (state.status if state else None) or "")[:300] or None
            row.finished_at = self.now()
            session.add(row)
            if state is not None and payment.intent_id is None:
                payment.intent_id = state.intent_id
                session.add(payment)
                session.flush()
            if state is not None:
                apply_state(session=session, payment=payment, state=state, now=self.now())
            elif failure is not None and attempt.operation != "cancel":
                booking.mark_failed(
                    session=session, payment=payment, reason=failure, now=self.now()
                )

    def _create(self, payment: Payment, account: PaymentAccount | None) -> None:
        if account is not None and account.customer_id is None and account.payment_method_id:
            # A card kept before the market took cards: the buyer becomes a Customer now.
            account.customer_id = self._attach(
                account.participant_id, None, account.payment_method_id
            )
            with db.unit_of_work(self.db) as session:
                session.merge(account)
        if account is None or account.customer_id is None or account.payment_method_id is None:
            with db.unit_of_work(self.db) as session:
                row = session.get(Payment, payment.id)
                if row is not None:
                    booking.mark_failed(
                        session=session,
                        payment=row,
                        reason="no card on file: register one (PUT /me/card)",
                        now=self.now(),
                    )
            return
        customer_id, method_id = account.customer_id, account.payment_method_id

        def create(fresh: Payment, key: str) -> IntentState:
            # The same terms on a resend (the provider compares them under one key): a payment
            # with a create attempt keeps its terms (`booking.charge_trade`).
            return self.provider.create_intent(
                amount_yen=fresh.amount_yen,
                customer_id=customer_id,
                payment_method_id=method_id,
                manual_capture=fresh.capture_method == "manual",
                destination=fresh.destination,
                application_fee_yen=fresh.application_fee_yen,
                metadata={"payment_id": fresh.id},
                key=key,
                transfer_group=(
                    proceeds.transfer_group(fresh.trade_id)
                    if fresh.transfer_to is not None and fresh.trade_id is not None
                    else None
                ),
            )

        self._call(payment, "create", create)

    def _call(
        self, payment: Payment, operation: str, send: Callable[[Payment, str], IntentState]
    ) -> None:
        attempt, _, fresh = open_attempt(self.db, payment, operation)
        try:
            state = send(fresh, attempt.idempotency_key)
        except ProviderDeclined as declined:
            self._finish(attempt, "failed", state=declined.intent, failure=declined.reason)
            return
        except ProviderUnavailable:
            log.warning(
                "payment %s: no answer to %s; it is resent with its key", payment.id, operation
            )
            raise
        self._finish(attempt, "succeeded", state=state)

    def _step(
        self, payment: Payment, operation: str, send: Callable[[Payment, str], IntentState]
    ) -> None:
        """A call on an existing PaymentIntent. After a lost answer, the intent's state says
        whether the call took effect; only if it did not is it resent, with the same key."""
        attempt, resend, fresh = open_attempt(self.db, payment, operation)
        if resend and fresh.intent_id is not None:
            state = self.provider.retrieve_intent(intent_id=fresh.intent_id)
            if state is not None and _took_effect(operation, state):
                self._finish(attempt, "succeeded", state=state)
                return
        try:
            state = send(fresh, attempt.idempotency_key)
        except ProviderDeclined as declined:
            self._finish(attempt, "failed", state=declined.intent, failure=declined.reason)
            return
        self._finish(attempt, "succeeded", state=state)

    def _confirm(self, payment: Payment, key: str) -> IntentState:
        return self.provider.confirm_intent(intent_id=payment.intent_id or "", key=key)

    def _capture(self, payment: Payment, key: str) -> IntentState:
        # A hold made with a destination takes its fee now; the fee of a direct charge was set
        # when it was created.
        fee = payment.application_fee_yen if payment.destination is not None else None
        return self.provider.capture_intent(
            intent_id=payment.intent_id or "",
            amount_yen=payment.capture_yen,
            application_fee_yen=fee,
            key=key,
        )

    def _cancel(self, payment: Payment, key: str) -> IntentState:
        return self.provider.cancel_intent(intent_id=payment.intent_id or "", key=key)

    # Refunds -----------------------------------------------------------------------------

    def queue_refund(self, *, session: Session, payment: Payment, refund: InvoiceRefund) -> None:
        """Commit the refund's provider call with the refund it books (sent after the commit)."""
        operation = f"{REFUND}{refund.id}"
        session.add(new_attempt(payment, operation))

    def _send_refund(self, attempt_id: str) -> None:
        with Session(self.db) as session:
            attempt = session.get(PaymentAttempt, attempt_id)
            payment = session.get(Payment, attempt.payment_id) if attempt else None
            refund = (
                session.get(InvoiceRefund, attempt.operation.removeprefix(REFUND))
                if attempt
                else None
            )
        if attempt is None or payment is None or refund is None or payment.intent_id is None:
            return
        try:
            self.provider.refund(
                intent_id=payment.intent_id,
                amount_yen=refund.amount_yen,
                connect=payment.destination is not None,
                key=attempt.idempotency_key,
            )
        except ProviderDeclined as declined:
            # The refund is booked; the provider's refusal is kept on the attempt and shown by
            # `datamarket settlement reconcile` for an operator to settle by hand.
            with db.unit_of_work(self.db) as session:
                row = session.get(PaymentAttempt, attempt_id)
                if row is not None:
                    row.status, row.detail, row.finished_at = "failed", declined.reason, self.now()
                    session.add(row)
            return
        with db.unit_of_work(self.db) as session:
            row = session.get(PaymentAttempt, attempt_id)
            if row is not None:
                row.status, row.finished_at = "succeeded", self.now()
                session.add(row)


def _took_effect(operation: str, state: IntentState) -> bool:
    if operation == "confirm":
        return state.status != "requires_confirmation"
    if operation == "capture":
        return state.status in ("succeeded", "canceled")
    if operation == "cancel":
        return state.status == "canceled"
    return False
