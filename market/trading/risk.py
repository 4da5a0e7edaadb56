"""The pre-trade risk stage: every open bid reserves its worst-case cost against the buyer's credit.

A bid reserves its worst-case cost when it enters: `max price × unfilled licences` plus the
consumption tax a tax-exclusive listing would add (`worst_case_yen`); a bid on PDS records, which
is invoiced per record, reserves that times the most records a licence may deliver (`units`).
The reservation shrinks as it fills (the invoice then owes the trade price and its tax instead) and is released when the bid
is cancelled, expires or is rejected. The stage lives beside the engine, under its lock, and is pure state: it is rebuilt
from the open bids the journal produced whenever the engine is rebuilt, so it never drifts from
the book. (After exchange-core's risk engine, which holds each account's exposure in memory.)
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import matching
from market.settlement.tax import tax_on


def worst_case_yen(price_yen: int, quantity: int) -> int:
    """The most `quantity` licences at up to `price_yen` can cost: the price and its tax.

    Tax is rounded down per invoice, so the tax of several smaller invoices never exceeds the tax
    of their sum: reserving the tax on the whole is an upper bound.
    """
    return price_yen * quantity + tax_on(price_yen * quantity)


@dataclass
class Reservation:
    buyer_id: str
    price_yen: int
    remaining: int
    # Records per licence: a bid for PDS records is invoiced price × records delivered.
    units: int = 1

    @property
    def yen(self) -> int:
        return worst_case_yen(self.price_yen * self.units, self.remaining)


class RiskStage:
    """Reserved yen per buyer, from the bids resting in (or entering) the book."""

    def __init__(self) -> None:
        self._orders: dict[str, Reservation] = {}
        self._reserved: dict[str, int] = {}

    def reserved_yen(self, buyer_id: str) -> int:
        return self._reserved.get(buyer_id, 0)

    def reserve(
        self, *, order_id: str, buyer_id: str, price_yen: int, quantity: int, units: int = 1
    ) -> None:
        """Reserve a new bid's worst-case cost (the caller checked the buyer can afford it);
        `units` is the most records a licence may deliver when the price is per record."""
        self._release_all(order_id)
        reservation = Reservation(buyer_id, price_yen, quantity, max(units, 1))
        self._orders[order_id] = reservation
        self._add(buyer_id, reservation.yen)

    def observe(self, events: Iterable[Any], placed_id: str | None = None) -> None:
        """Shrink or release reservations as the engine fills, cancels or changes bids.

        `placed_id` is the order the command placed: only its rejection releases a reservation
        (a refused cancel or amend leaves the order, and what it reserves, as it was).
        """
        for event in events:
            if isinstance(event, matching.TradeExecuted):
                self._release(event.buy_id, event.qty)
            elif isinstance(event, matching.Cancelled | matching.Expired):
                self._release_all(event.id)
            elif isinstance(event, matching.Rejected):
                if event.id and event.id == placed_id:
                    self._release_all(event.id)
            elif isinstance(event, matching.Reduced):
                self._release(event.id, event.qty)
            elif isinstance(event, matching.Amended):
                self._amend(event.id, event.price, event.qty)

    def rebuild(self, open_bids: Iterable[tuple[Any, ...]]) -> None:
        """Start over from (order id, buyer id, max price, unfilled licences[, records per
        licence]) of every open bid."""
        self._orders.clear()
        self._reserved.clear()
        for order_id, buyer_id, price, remaining, *units in open_bids:
            self.reserve(
                order_id=order_id,
                buyer_id=buyer_id,
                price_yen=price,
                quantity=remaining,
                units=units[0] if units else 1,
            )

    def total_yen(self) -> int:
        return sum(self._reserved.values())

    def _add(self, buyer_id: str, yen: int) -> None:
        total = self._reserved.get(buyer_id, 0) + yen
        if total:
            self._reserved[buyer_id] = total
        else:
            self._reserved.pop(buyer_id, None)

    def _release(self, order_id: str, qty: int) -> None:
        reservation = self._orders.get(order_id)
        if reservation is None:
            return
        before = reservation.yen
        reservation.remaining -= min(qty, reservation.remaining)
        self._add(reservation.buyer_id, reservation.yen - before)
        if reservation.remaining == 0:
            del self._orders[order_id]

    def _release_all(self, order_id: str) -> None:
        reservation = self._orders.pop(order_id, None)
        if reservation is not None:
            self._add(reservation.buyer_id, -reservation.yen)

    def _amend(self, order_id: str, price: int, qty: int | None) -> None:
        reservation = self._orders.get(order_id)
        if reservation is None or qty is None:
            return
        self._add(reservation.buyer_id, -reservation.yen)
        reservation.price_yen, reservation.remaining = price, qty
        self._add(reservation.buyer_id, reservation.yen)
