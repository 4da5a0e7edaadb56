"""The ledger's invariants, checked over the whole book (`datamarket settlement check`).

Every transaction balances, no line is negative, the trial balance sums to zero, every entry
belongs to a transaction with a header and each header's digest still matches its lines (so
no entry was changed, added or removed), and the invoices agree with their postings.
"""

from collections import defaultdict

from sqlmodel import Session, col, select

from market.models import LedgerEntry
from market.settlement.ledger import Posting, digest
from market.settlement.reconcile import reconcile
from market.settlement.tables import LedgerTransaction


def check_ledger(*, session: Session) -> list[str]:
    """Every broken invariant, one sentence each (empty: the books are sound)."""
    problems: list[str] = []
    lines: dict[str, list[Posting]] = defaultdict(list)
    total = 0
    for entry in session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))):
        if entry.debit_yen < 0 or entry.credit_yen < 0:
            problems.append(f"entry {entry.id} has a negative amount")
        lines[entry.transaction_id].append(
            Posting(entry.account, entry.debit_yen, entry.credit_yen)
        )
        total += entry.debit_yen - entry.credit_yen
    if total:
        problems.append(f"the trial balance sums to {total:,} yen, not zero")
    for transaction_id, postings in lines.items():
        difference = sum(p.debit_yen - p.credit_yen for p in postings)
        if difference:
            problems.append(
                f"transaction {transaction_id} is unbalanced: debits exceed credits by "
                f"{difference:,} yen"
            )
    headers = {h.id: h for h in session.exec(select(LedgerTransaction))}
    for transaction_id in lines.keys() - headers.keys():
        problems.append(f"transaction {transaction_id} has entries but no header")
    for header in headers.values():
        expected = digest(
            transaction_id=header.id,
            kind=header.kind,
            reference_id=header.reference_id,
            lines=lines.get(header.id, []),
        )
        if expected != header.digest:
            problems.append(
                f"transaction {header.id} ({header.kind}) no longer matches its digest: "
                "an entry was changed, added or removed after posting"
            )
    problems.extend(str(m) for m in reconcile(session=session))
    return problems
