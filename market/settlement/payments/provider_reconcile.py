"""Reconciliation against the payment provider: every payment the market booked against the
provider's PaymentIntents, and every PaymentIntent of the market's against a payment; every
pooled sale's Transfer, and its reversals, against the ledger, and every Transfer of its
transfer group against the one the market made.

Kinds: `missing_charge` (the provider has no such PaymentIntent), `extra_charge` (the provider
took money for a payment the market does not know, or twice for one), `missing_transfer` (the
provider has no Transfer the ledger booked), `extra_transfer` (a Transfer in a pooled sale's
transfer group the ledger does not know), `amount_mismatch` (captured or refunded amounts, the
processing fee booked and the provider's balance transaction, a Transfer's amount or the amount
its reversals took back, differ), `state_mismatch` (paid on one side only, or held, released or
failed differently; a transfer or reversal refused on its last attempt, left to an operator),
`lost_response` (the provider acted on a call whose answer the market never received; the next
payment run settles it).
"""

from collections import defaultdict

from sqlmodel import Session, col, or_, select

from market.models import Invoice
from market.settlement.ledger import PAYMENT_CLEARING_ACCOUNT
from market.settlement.payments import retries
from market.settlement.payments.proceeds import (
    REVERSAL_OPERATION,
    TRANSFER_OPERATION,
    TRANSFER_REVERSED,
    transfer_group,
)
from market.settlement.payments.provider import IntentState, Payments, TransferState
from market.settlement.reconcile import Mismatch, booked_by_reference
from market.settlement.tables import Payment, PaymentAttempt

TRANSFERRED = "payment.transferred"

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


def _latest_attempts(session: Session, payment_id: str | None = None) -> list[PaymentAttempt]:
    """The last attempt of each transfer and transfer reversal call (of one payment)."""
    query = select(PaymentAttempt).where(
        or_(
            col(PaymentAttempt.operation) == TRANSFER_OPERATION,
            col(PaymentAttempt.operation).startswith(REVERSAL_OPERATION),
        )
    )
    if payment_id is not None:
        query = query.where(PaymentAttempt.payment_id == payment_id)
    latest: dict[tuple[str, str], PaymentAttempt] = {}
    for attempt in session.exec(query.order_by(col(PaymentAttempt.attempt))):
        latest[(attempt.payment_id, attempt.operation)] = attempt
    return list(latest.values())


def _refused_transfers(session: Session) -> list[Mismatch]:
    """Paid pooled sales whose transfer to the bank, or a refund's reversal of it, the provider
    refused on the last attempt (left to operators; one waiting for its retry is not listed)."""
    problems = []
    for attempt in _latest_attempts(session):
        if not retries.left_to_operator(status=attempt.status, attempt=attempt.attempt):
            continue
        refused = f"refused {attempt.attempt} times, left to an operator: {attempt.detail}"
        if attempt.operation != TRANSFER_OPERATION:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    attempt.payment_id,
                    f"refunded, but the reversal of the transfer to the bank was {refused}",
                )
            )
            continue
        payment = session.get(Payment, attempt.payment_id)
        if payment is not None and payment.transfer_id is None:
            problems.append(
                Mismatch(
                    "state_mismatch",
                    payment.id,
                    f"paid, but the transfer to the bank was {refused}",
                )
            )
    return problems


def _reversals(
    session: Session, payment: Payment, state: TransferState, booked: dict[str, int]
) -> list[Mismatch]:
    """The yen the provider's reversals of a Transfer took back against the reversals the
    ledger booked: at least those answered as made, at most those and the ones whose answer
    is still missing (`lost_response` while any of those shows)."""
    made = unanswered = 0
    for attempt in _latest_attempts(session, payment.id):
        if attempt.operation == TRANSFER_OPERATION:
            continue
        amount = booked.get(attempt.operation.removeprefix(REVERSAL_OPERATION), 0)
        if attempt.status == "succeeded":
            made += amount
        elif attempt.status == "sent":
            unanswered += amount
    if made < state.reversed_yen <= made + unanswered:
        return [
            Mismatch(
                "lost_response",
                payment.id,
                f"the provider reversed {state.reversed_yen - made:,} yen of {state.transfer_id} "
                "whose answer never arrived; the next payment run settles it",
            )
        ]
    if state.reversed_yen != made:
        return [
            Mismatch(
                "amount_mismatch",
                payment.id,
                f"{state.reversed_yen:,} yen of {state.transfer_id} reversed at the provider, "
                f"{made:,} yen in the ledger's reversals answered as made",
            )
        ]
    return []


def _compare_transfers(
    session: Session, provider: Payments, payments: list[Payment]
) -> list[Mismatch]:
    """Each pooled sale's Transfer (amount, destination, reversals) against the ledger, and
    every Transfer of its transfer group against the one the market made."""
    pooled = [p for p in payments if p.transfer_to is not None and p.trade_id is not None]
    if not pooled:
        return []
    transferred = booked_by_reference(session, (TRANSFERRED,))
    reversed_by_subject: dict[str, int] = defaultdict(int)
    for subject, txs in booked_by_reference(session, (TRANSFER_REVERSED,)).items():
        for _, lines in txs:
            reversed_by_subject[subject] += lines.get(PAYMENT_CLEARING_ACCOUNT, 0)
    problems: list[Mismatch] = []
    for payment in pooled:
        if payment.transfer_id is not None:
            state = provider.retrieve_transfer(transfer_id=payment.transfer_id)
            if state is None:
                problems.append(
                    Mismatch(
                        "missing_transfer",
                        payment.id,
                        f"the provider has no Transfer {payment.transfer_id} the ledger booked",
                    )
                )
            else:
                booked = -sum(
                    lines.get(PAYMENT_CLEARING_ACCOUNT, 0)
                    for _, lines in transferred.get(payment.id, [])
                )
                if state.amount_yen != booked:
                    problems.append(
                        Mismatch(
                            "amount_mismatch",
                            payment.id,
                            f"transferred {state.amount_yen:,} yen at the provider "
                            f"({state.transfer_id}), {booked:,} yen in the ledger",
                        )
                    )
                if state.destination not in (None, payment.transfer_to):
                    problems.append(
                        Mismatch(
                            "state_mismatch",
                            payment.id,
                            f"{state.transfer_id} went to another account than the bank's",
                        )
                    )
                problems += _reversals(session, payment, state, reversed_by_subject)
        group = transfer_group(payment.trade_id or "")
        for other in provider.list_transfers(transfer_group=group):
            if other.transfer_id == payment.transfer_id:
                continue
            if payment.transfer_id is None and _transfer_unanswered(session, payment.id):
                problems.append(
                    Mismatch(
                        "lost_response",
                        payment.id,
                        f"the provider made {other.transfer_id} but its answer never arrived; "
                        "the next payment run settles it",
                    )
                )
            else:
                problems.append(
                    Mismatch(
                        "extra_transfer",
                        other.transfer_id,
                        f"a Transfer of {other.amount_yen:,} yen in {group} the ledger does "
                        "not know",
                    )
                )
    return problems


def _transfer_unanswered(session: Session, payment_id: str) -> bool:
    return (
        session.exec(
            select(PaymentAttempt.id).where(
                PaymentAttempt.payment_id == payment_id,
                PaymentAttempt.operation == TRANSFER_OPERATION,
                PaymentAttempt.status == "sent",
            )
        ).first()
        is not None
    )


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
    problems += _compare_transfers(session, provider, list(payments.values()))
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
