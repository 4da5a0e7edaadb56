"""A buyer's standing for a bid in one statement: its credit base and the datasets it holds.

Every plain bid needs both (market/trading/bulk.py): what the buyer may still commit before the
risk stage's reservations (credit limit, plus deposits, less unpaid invoices) and the datasets
of the bid's instrument it already licenses for the bid's purpose (the engine skips them). The
first bid of a buyer in a sequencer batch reads them together: the credit row, outer-joined to
the held licences' rows, so one round trip answers both.
"""

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, true
from sqlalchemy import select as sa_select
from sqlmodel import Session

from market.models import Participant
from market.revisions.entitlement import held_of, held_parameters, held_statement
from market.settlement.credit import balances_statement, base_yen
from market.settlement.ledger import deposit_account


@cache
def _standing_statement() -> Select[Any]:
    balances = balances_statement().subquery("balances")
    held = held_statement().subquery("held")
    return sa_select(
        balances.c.deposit_yen,
        balances.c.owed_yen,
        held.c.dataset_id,
        held.c.revision,
        held.c.covers,
        held.c.newest,
    ).select_from(balances.outerjoin(held, true()))


def standing(
    *, session: Session, buyer: Participant, instrument: str, purpose: str, now: datetime
) -> tuple[int, frozenset[str]]:
    """The buyer's credit base (before reservations) and the datasets of `instrument` it holds
    a live licence of for `purpose`, as `credit.available_yen` and `held_datasets` give them."""
    parameters = {
        "account": deposit_account(buyer.id),
        **held_parameters(buyer.id, instrument, purpose, now),
    }
    rows = session.connection().execute(_standing_statement(), parameters).all()
    return base_yen(buyer, rows[0][0], rows[0][1]), held_of(row[2:] for row in rows)
