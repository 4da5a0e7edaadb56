"""Carrying changed scores to resting asks inside the trading unit of work.

A changed quality score reaches resting asks as engine `Update` commands, journaled and booked in
the same transaction as the change that moved it, under the engine lock (OrderDesk.transaction).
"""

from typing import Any

from sqlmodel import Session

from market.models import Trade
from market.trading.desk import OrderDesk


def apply_commands(orders: OrderDesk, session: Session, commands: list[Any]) -> list[Trade]:
    """Submit commands (journaled) and book what they trade; a refusal undoes the whole unit."""
    booked: list[Trade] = []
    for command in commands:
        trades, rejection = orders.book(session, orders.submit(session, command))
        if rejection is not None:
            raise rejection
        booked.extend(trades)
    return booked
