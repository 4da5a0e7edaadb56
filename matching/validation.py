"""Checks that decide whether an order command may enter a book (shared by every book)."""

from .commands import Amend, Limit, Market, Reduce, Update
from .orders import Order
from .terms import constraints_problem, terms_problem
from .types import MAX_PRICE, MAX_QTY, Side, TimeInForce


def order_problem(cmd: Limit | Market, now: int, continuous: bool) -> str | None:
    """Say why an order command must be rejected, or None when it may enter the book."""
    if not cmd.id:
        return "order id must not be empty"
    if not cmd.instrument:
        return "instrument must not be empty"
    if not cmd.participant:
        return "participant must not be empty"
    is_buy = cmd.side is Side.BUY
    if cmd.qty is None:
        if is_buy:
            return "only an ask may offer unlimited licences"
    elif not 0 < cmd.qty <= MAX_QTY:
        return "qty must be a positive number of licences"
    if is_buy and cmd.terms is not None:
        return "a bid carries constraints, not ask terms"
    if not is_buy and cmd.constraints is not None:
        return "an ask carries terms, not bid constraints"
    if cmd.constraints is not None:
        problem = constraints_problem(cmd.constraints)
        if problem is not None:
            return problem
    if cmd.terms is not None:
        problem = terms_problem(cmd.terms, cmd.qty)
        if problem is not None:
            return problem
    if isinstance(cmd, Limit):
        return _limit_problem(cmd, now, continuous)
    return None


def _limit_problem(cmd: Limit, now: int, continuous: bool) -> str | None:
    """Checks that only limit orders need: price, time in force, expiry."""
    if not 0 < cmd.price <= MAX_PRICE:
        return "price must be a positive number of yen"
    tif = cmd.tif
    if tif is TimeInForce.GTD:
        if cmd.expires_at is None:
            return "a GTD order needs expires_at"
        if cmd.expires_at <= now:
            return "expires_at is not in the future"
    elif cmd.expires_at is not None:
        return "only a GTD order may carry expires_at"
    if tif is TimeInForce.FOK and cmd.qty is None:
        return "fill-or-kill needs a finite quantity"
    if not continuous and (tif is TimeInForce.IOC or tif is TimeInForce.FOK):
        return "immediate orders (IOC, FOK) are refused while the instrument trades by auction"
    return None


def reduce_problem(order: Order | None, cmd: Reduce) -> str | None:
    """Why a reduce command is refused, or None."""
    if order is None:
        return "no live order with this id"
    if cmd.qty <= 0:
        return "qty to reduce by must be positive"
    if order.unlimited:
        return "an unlimited ask cannot be reduced; cancel it"
    return None


def amend_problem(order: Order | None, cmd: Amend) -> str | None:
    """Why an amend command is refused, or None."""
    if order is None:
        return "no live order with this id"
    if cmd.price is None and cmd.qty is None:
        return "nothing to amend"
    if cmd.price is not None:
        if order.is_market:
            return "a market order has no price to amend"
        if not 0 < cmd.price <= MAX_PRICE:
            return "price must be a positive number of yen"
    if cmd.qty is not None:
        if order.unlimited:
            return "an unlimited ask has no size to amend"
        if not 0 < cmd.qty <= MAX_QTY:
            return "qty must be a positive number of licences"
        if order.terms is not None and order.terms.exclusive and cmd.qty != 1:
            return "an exclusive licence is offered one at a time (qty 1)"
    return None


def update_problem(order: Order | None, cmd: Update) -> str | None:
    """Why an update command is refused, or None."""
    if order is None:
        return "no live order with this id"
    if order.is_buy != (cmd.side is Side.BUY):
        return "side does not match the order"
    if order.is_buy:
        if cmd.terms is not None:
            return "a bid carries constraints, not ask terms"
        return None if cmd.constraints is None else constraints_problem(cmd.constraints)
    if cmd.constraints is not None:
        return "an ask carries terms, not bid constraints"
    if cmd.terms is None:
        return None
    return terms_problem(cmd.terms, None if order.unlimited else order.qty)
