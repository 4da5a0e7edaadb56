"""The double-entry ledger in integer yen: accounts, postings, balanced transactions.

Accounts are strings. Every transaction's debits equal its credits, every line is a debit or a
credit of a non-negative amount, and nothing posted is ever changed: a correction is a new,
reversing transaction. Each transaction has a header (`LedgerTransaction`) naming what it was
for and a digest of its lines, so `datamarket settlement check` can prove the book unchanged.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Insert, func, insert
from sqlmodel import Session, select

from market.models import LedgerEntry, new_id, utcnow
from market.settlement.tables import LedgerTransaction

# Buyers: what they owe on invoices, and what they prepaid.
RECEIVABLE_BUYER = "receivable:buyer:{}"
DEPOSIT_BUYER = "deposit:buyer:{}"
# Sellers: what the market owes them (sales less fees), until paid out.
PAYABLE_SELLER = "payable:seller:{}"
# Information banks, and through them the people whose data was sold (the split to each
# person comes with the rights work).
PAYABLE_BANK = "payable:bank:{}"
PAYABLE_PERSON = "payable:person:{}"
FEE_ACCOUNT = "revenue:market_fee"
TAX_PAYABLE_ACCOUNT = "tax:consumption_payable"
CASH_ACCOUNT = "cash:bank"
# A payment provider's money in flight, its fees, and payouts sent but not yet confirmed.
PAYMENT_CLEARING_ACCOUNT = "clearing:payments"
PROVIDER_FEES_ACCOUNT = "expense:provider_fees"
PAYOUT_CLEARING_ACCOUNT = "clearing:payouts"


def receivable(buyer_id: str) -> str:
    return RECEIVABLE_BUYER.format(buyer_id)


def deposit_account(buyer_id: str) -> str:
    return DEPOSIT_BUYER.format(buyer_id)


def payable(seller_id: str) -> str:
    return PAYABLE_SELLER.format(seller_id)


@dataclass(frozen=True)
class Posting:
    """One line of a ledger transaction."""

    account: str
    debit_yen: int = 0
    credit_yen: int = 0


class UnbalancedTransaction(ValueError):
    """A transaction whose debits and credits differ, or with a negative line: never posted."""


def digest(
    *, transaction_id: str, kind: str, reference_id: str | None, lines: Iterable[Posting]
) -> str:
    """SHA-256 over a transaction's identity and its lines, in a canonical order."""
    canonical = sorted(f"{p.account}|{p.debit_yen}|{p.credit_yen}" for p in lines)
    text = "\n".join([transaction_id, kind, reference_id or "", *canonical])
    return hashlib.sha256(text.encode()).hexdigest()


def post(
    session: Session,
    postings: list[Posting],
    memo: str,
    *,
    kind: str = "adjustment",
    reference_id: str | None = None,
) -> str:
    """Write one balanced transaction and its header; refuse an unbalanced one."""
    if any(p.debit_yen < 0 or p.credit_yen < 0 for p in postings):
        raise UnbalancedTransaction("a ledger line has a negative amount")
    if sum(p.debit_yen for p in postings) != sum(p.credit_yen for p in postings):
        raise UnbalancedTransaction("unbalanced ledger transaction")
    lines = [p for p in postings if p.debit_yen or p.credit_yen]
    transaction_id = new_id()
    # Prepared inserts on the session's connection, at once: every ledger row is written here,
    # so their ids keep the order they were posted in, without ORM objects (issue 14).
    connection = session.connection()
    if lines:
        connection.execute(
            _insert_entries(),
            [
                {
                    "transaction_id": transaction_id,
                    "account": p.account,
                    "debit_yen": p.debit_yen,
                    "credit_yen": p.credit_yen,
                    "memo": memo[:200],
                    "created_at": utcnow(),
                }
                for p in lines
            ],
        )
    connection.execute(
        _insert_transaction(),
        {
            "id": transaction_id,
            "kind": kind,
            "reference_id": reference_id,
            "digest": digest(
                transaction_id=transaction_id, kind=kind, reference_id=reference_id, lines=lines
            ),
            "created_at": utcnow(),
        },
    )
    return transaction_id


@cache
def _insert_entries() -> Insert:
    return insert(LedgerEntry.__table__)  # type: ignore[attr-defined]


@cache
def _insert_transaction() -> Insert:
    return insert(LedgerTransaction.__table__)  # type: ignore[attr-defined]


def reversal(postings: Iterable[Posting]) -> list[Posting]:
    """The postings that undo `postings` (debits become credits)."""
    return [Posting(p.account, debit_yen=p.credit_yen, credit_yen=p.debit_yen) for p in postings]


def trial_balance(*, session: Session) -> dict[str, int]:
    """Balance (debits minus credits) of every account."""
    rows = session.exec(
        select(
            LedgerEntry.account,
            func.sum(LedgerEntry.debit_yen) - func.sum(LedgerEntry.credit_yen),
        ).group_by(LedgerEntry.account)
    ).all()
    return {account: int(balance) for account, balance in rows}


def credit_balance(*, session: Session, account: str) -> int:
    """Credits minus debits of one account (what a liability account holds)."""
    total = session.exec(
        select(
            func.coalesce(func.sum(LedgerEntry.credit_yen), 0)
            - func.coalesce(func.sum(LedgerEntry.debit_yen), 0)
        ).where(LedgerEntry.account == account)
    ).one()
    return int(total)
