"""Buyers' purchasing power: credit limits granted by operators and prepaid deposits.

A self-registered buyer starts with no credit. An operator grants a credit limit (invoices paid
after the fact) or records a prepaid deposit (a bank transfer received), and bids reserve against
`credit limit + deposit balance - unpaid invoices - reservations of open bids`. Deposits settle
new invoices as they are issued, oldest first. Each grant and deposit is an audited operator
action.
"""

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from market.audit import record_operator_action
from market.errors import CreditLimitExceeded, InvalidRequest, NotFound
from market.events import record_event
from market.models import Invoice, LedgerEntry, Participant
from market.money import MAX_YEN
from market.settlement.invoices import claim_invoice_payment, payment_postings
from market.settlement.ledger import (
    CASH_ACCOUNT,
    Posting,
    credit_balance,
    deposit_account,
    post,
)
from market.settlement.payments.booking import allow_by_card
from market.settlement.tables import Payment


def deposit_balance_yen(*, session: Session, buyer_id: str) -> int:
    """What the buyer has prepaid and not yet spent (the deposit account's credit balance)."""
    return credit_balance(session=session, account=deposit_account(buyer_id))


def available_yen(*, session: Session, buyer: Participant, reserved_yen: int) -> int:
    """What the buyer may still commit to new bids: one Core statement, since every bid asks."""
    row = (
        session.connection()
        .execute(_BALANCES, {"account": deposit_account(buyer.id), "buyer_id": buyer.id})
        .one()
    )
    return base_yen(buyer, row[0], row[1]) - reserved_yen


def base_yen(buyer: Participant, deposit_yen: int, owed_yen: int) -> int:
    """What the buyer may commit before reservations: its credit limit and deposit balance less
    its unpaid invoices (the two sums `balances_statement` reads)."""
    return buyer.credit_limit_yen + int(deposit_yen) - int(owed_yen)


def _balances() -> Select[Any]:
    """The buyer's deposit balance and unpaid invoices, bound to `account` and `buyer_id`."""
    entries = LedgerEntry.__table__  # type: ignore[attr-defined]
    invoices = Invoice.__table__  # type: ignore[attr-defined]
    deposits = (
        select(
            func.coalesce(func.sum(entries.c.credit_yen), 0)
            - func.coalesce(func.sum(entries.c.debit_yen), 0)
        )
        .where(entries.c.account == bindparam("account"))
        .scalar_subquery()
    )
    owed = (
        select(func.coalesce(func.sum(invoices.c.amount_yen), 0))
        .where(invoices.c.buyer_id == bindparam("buyer_id"), invoices.c.status == "issued")
        .scalar_subquery()
    )
    return sa_select(deposits.label("deposit_yen"), owed.label("owed_yen"))


_BALANCES = _balances()


def balances_statement() -> Select[Any]:
    """The deposit balance and unpaid invoices (`deposit_yen`, `owed_yen`) of one buyer, bound
    to `account` (its deposit account) and `buyer_id`: for a statement that reads more."""
    return _BALANCES


@cache
def _deposit_balance() -> Select[Any]:
    """`deposit_balance_yen`'s sum as one prepared statement, bound to `account`."""
    entries = LedgerEntry.__table__  # type: ignore[attr-defined]
    return sa_select(
        func.coalesce(func.sum(entries.c.credit_yen), 0)
        - func.coalesce(func.sum(entries.c.debit_yen), 0)
    ).where(entries.c.account == bindparam("account"))


def require_credit(
    *, session: Session, buyer: Participant, exposure_yen: int, reserved_yen: int
) -> None:
    """Refuse a bid whose worst-case cost exceeds what the buyer may still commit."""
    available = available_yen(session=session, buyer=buyer, reserved_yen=reserved_yen)
    if exposure_yen > available:
        if allow_by_card(session=session, buyer=buyer, exposure_yen=exposure_yen):
            return
        raise CreditLimitExceeded(
            f"this bid could cost up to {exposure_yen:,} yen but you may commit only "
            f"{max(available, 0):,} yen more (credit limit {buyer.credit_limit_yen:,} yen plus "
            f"deposits, less unpaid invoices and {reserved_yen:,} yen held by your open bids). "
            "Ask the operator for credit or make a deposit, pay open invoices, cancel bids, "
            "or register a card (PUT /me/card) where the market takes cards"
        )


def _participant(session: Session, participant_id: str) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound(f"participant {participant_id} does not exist")
    return participant


def grant_credit(
    *,
    session: Session,
    operator: Participant,
    participant_id: str,
    credit_limit_yen: int,
    reason: str,
) -> Participant:
    """Set a participant's credit limit (an operator's audited action)."""
    if not 0 <= credit_limit_yen <= MAX_YEN:
        raise InvalidRequest(f"credit_limit_yen must be between 0 and {MAX_YEN:,}")
    participant = _participant(session, participant_id)
    before = participant.credit_limit_yen
    participant.credit_limit_yen = credit_limit_yen
    session.add(participant)
    record_operator_action(
        session=session,
        operator=operator,
        action="credit.granted",
        target_id=participant.id,
        reason=reason,
        details={"from_yen": before, "to_yen": credit_limit_yen},
    )
    record_event(
        session, "CreditLimitSet", {"participant_id": participant.id, "yen": credit_limit_yen}
    )
    return participant


def record_deposit(
    *,
    session: Session,
    operator: Participant,
    participant_id: str,
    amount_yen: int,
    reference: str,
    reason: str,
) -> int:
    """Book a prepaid deposit received by bank transfer; returns the new deposit balance."""
    if not 0 < amount_yen <= MAX_YEN:
        raise InvalidRequest(f"amount_yen must be between 1 and {MAX_YEN:,}")
    participant = _participant(session, participant_id)
    post(
        session,
        [
            Posting(CASH_ACCOUNT, debit_yen=amount_yen),
            Posting(deposit_account(participant.id), credit_yen=amount_yen),
        ],
        memo=f"deposit {reference}"[:200],
        kind="deposit.recorded",
        reference_id=participant.id,
    )
    record_operator_action(
        session=session,
        operator=operator,
        action="deposit.recorded",
        target_id=participant.id,
        reason=reason,
        details={"amount_yen": amount_yen, "reference": reference},
    )
    record_event(
        session, "DepositRecorded", {"participant_id": participant.id, "amount_yen": amount_yen}
    )
    settle_invoices_from_deposit(session=session, buyer_id=participant.id)
    return deposit_balance_yen(session=session, buyer_id=participant.id)


def settle_invoices_from_deposit(*, session: Session, buyer_id: str) -> list[Invoice]:
    """Pay the buyer's issued invoices from its deposit, oldest first, while the deposit covers them."""
    session.flush()
    # Flushed just now, so one prepared statement on the connection reads what the ORM would.
    balance = int(
        session.connection()
        .execute(_deposit_balance(), {"account": deposit_account(buyer_id)})
        .scalar_one()
    )
    paid: list[Invoice] = []
    if balance <= 0:
        return paid  # nothing to pay with (every trade asks: most buyers have no deposit)
    issued = session.exec(
        select(Invoice)
        .where(Invoice.buyer_id == buyer_id, Invoice.status == "issued")
        .order_by(col(Invoice.issued_at), col(Invoice.id))
    ).all()
    by_card = set(
        session.exec(
            select(Payment.invoice_id).where(col(Payment.invoice_id).in_([i.id for i in issued]))
        )
    )
    for invoice in issued:
        if invoice.id in by_card:
            continue  # paid by its card payment, never twice
        if invoice.amount_yen > balance:
            break
        if not claim_invoice_payment(session=session, invoice_id=invoice.id):
            continue
        post(
            session,
            payment_postings(invoice=invoice, source=deposit_account(buyer_id)),
            memo=f"invoice {invoice.id} paid from deposit",
            kind="invoice.paid_from_deposit",
            reference_id=invoice.id,
        )
        session.refresh(invoice)
        record_event(
            session,
            "InvoicePaid",
            {"invoice_id": invoice.id, "amount_yen": invoice.amount_yen, "from": "deposit"},
        )
        balance -= invoice.amount_yen
        paid.append(invoice)
    return paid
