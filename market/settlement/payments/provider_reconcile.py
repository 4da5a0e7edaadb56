"""Reconciliation against the payment provider: every payment the market booked against the
provider's PaymentIntents, and every PaymentIntent of the market's against a payment.

Kinds: `missing_charge` (the provider has no such PaymentIntent), `extra_charge` (the provider
took money for a payment the market does not know, or twice for one), `amount_mismatch`
(captured or refunded amounts, or the processing fee booked and the provider's balance
transaction, differ), `state_mismatch` (paid on one side only, or held, released or failed
differently), `lost_response` (the provider acted on a call whose answer
the market never received; the next payment run settles it).
"""

from sqlmodel import Session, col, select

from market.models import Invoice
from market.settlement.payments.proceeds import REVERSAL_OPERATION, TRANSFER_OPERATION
from market.settlement.payments.provider import IntentState, Payments
from market.settlement.reconcile import Mismatch
from market.settlement.tables import Payment, PaymentAttempt

# What the provider's status should be for each of the market's.
EXPECTED = {
    "created": ("requires_confirmation",),
    "authorized": ("requires_capture",),
    "capture_due": ("requires_capture",),
    "cancel_due": ("requires_capture",),
    "succeeded": ("succeeded",),
    "cancelled": ("canceled", "requires_confirmation", "requires_payment_method"),
    "failed": ("requires_payment_method", "requires_action", "canceled"),
    "expired": ("requires_payment_method", "requires_action", "canceled"),
}
MONEY_TAKEN = ("succeeded", "requires_capture", "processing")


def _unanswered(session: Session, payment_id: str) -> bool:
    return (
        session.exec(
            select(PaymentAttempt.id).where(
                PaymentAttempt.payment_id == payment_id, PaymentAttempt.status == "sent"
            )
        ).first()
        is not None
    )


def _compare(session: Session, payment: Payment, state: IntentState) -> list[Mismatch]:
    if state.status not in EXPECTED.get(payment.status, ()):
        if state.status in MONEY_TAKEN and _unanswered(session, payment.id):
            return [
                Mismatch(
                    "lost_response",
                    payment.id,
                    f"the provider's {state.intent_id} is {state.status} but the answer never "
                    "arrived; the next payment run settles it",
                )
            ]
        return [
            Mismatch(
                "state_mismatch",
                payment.id,
                f"the market has it {payment.status}, the provider's {state.intent_id} is "
                f"{state.status}",
            )
        ]
    problems = []
    if payment.status == "succeeded" and state.received_yen != payment.capture_yen:
        problems.append(
            Mismatch(
                "amount_mismatch",
                payment.id,
                f"captured {state.received_yen:,} yen at the provider, "
                f"{payment.capture_yen:,} yen in the market",
            )
        )
    if payment.status == "succeeded" and state.fee_yen != payment.provider_fee_yen:
        if payment.provider_fee_yen is None:
            detail = f"the provider's fee of {state.fee_yen:,} yen is not booked yet; the next "
            detail += "payment run books it"
        elif state.fee_yen is None:
            detail = f"a fee of {payment.provider_fee_yen:,} yen is booked; the provider shows none"
        else:
            detail = f"a fee of {state.fee_yen:,} yen at the provider, "
            detail += f"{payment.provider_fee_yen:,} yen booked"
        problems.append(Mismatch("amount_mismatch", payment.id, detail))
    if state.refunded_yen != payment.refunded_yen:
        problems.append(
            Mismatch(
                "amount_mismatch",
                payment.id,
                f"refunded {state.refunded_yen:,} yen at the provider, "
                f"{payment.refunded_yen:,} yen in the market",
            )
        )
    return problems


def _refused_transfers(session: Session) -> list[Mismatch]:
    """Paid pooled sales whose transfer to the bank, or a refund's reversal of it, the provider
    refused (left to operators)."""
    refused = session.exec(
        select(PaymentAttempt).where(
            PaymentAttempt.operation == TRANSFER_OPERATION, PaymentAttempt.status == "failed"
        )
    ).all()
    reversals = session.exec(
        select(PaymentAttempt).where(
            col(PaymentAttempt.operation).startswith(REVERSAL_OPERATION),
            PaymentAttempt.status == "failed",
        )
    ).all()
    problems = [
        Mismatch(
            "state_mismatch",
            attempt.payment_id,
            f"refunded, but the reversal of the transfer to the bank was refused: {attempt.detail}",
        )
        for attempt in reversals
    ]
    for attempt in refused:
        payment = session.get(Payment, attempt.payment_id)
        if payment is not None and payment.transfer_id is None:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    payment.id,
                    f"paid, but the transfer to the bank was refused: {attempt.detail}",
                )
            )
    return problems


def reconcile_provider(*, session: Session, provider: Payments) -> list[Mismatch]:
    """Every difference between the market's payments and the provider's view of them."""
    if provider.name == "invoice":
        return []
    payments = {p.id: p for p in session.exec(select(Payment).order_by(col(Payment.created_at)))}
    problems: list[Mismatch] = []
    for payment in payments.values():
        if payment.status == "succeeded" and payment.invoice_id is not None:
            invoice = session.get(Invoice, payment.invoice_id)
            if invoice is None or invoice.status not in ("paid", "refunded"):
                problems.append(
                    Mismatch(
                        "state_mismatch",
                        payment.id,
                        "paid by card, but its invoice is not paid in the ledger",
                    )
                )
        if payment.intent_id is None:
            continue
        state = provider.retrieve_intent(intent_id=payment.intent_id)
        if state is None:
            problems.append(
                Mismatch(
                    "missing_charge",
                    payment.id,
                    f"the provider has no PaymentIntent {payment.intent_id}",
                )
            )
            continue
        problems += _compare(session, payment, state)
    problems += _refused_transfers(session)
    for state in provider.list_intents():
        payment_id = state.metadata.get("payment_id")
        if not payment_id or state.status not in MONEY_TAKEN:
            continue
        known = payments.get(payment_id)
        if known is None:
            problems.append(
                Mismatch(
                    "extra_charge",
                    state.intent_id,
                    f"the provider took {state.amount_yen:,} yen for a payment the market "
                    "does not know",
                )
            )
        elif known.intent_id is None and _unanswered(session, known.id):
            problems.append(
                Mismatch(
                    "lost_response",
                    known.id,
                    f"the provider created {state.intent_id} but its answer never arrived",
                )
            )
        elif known.intent_id != state.intent_id:
            problems.append(
                Mismatch(
                    "extra_charge",
                    state.intent_id,
                    f"a second PaymentIntent for payment {known.id} ({state.status})",
                )
            )
    return problems
