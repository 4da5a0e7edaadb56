"""Checks that decide whether an order command may enter a book (shared by every book)."""

from .commands import Amend, Cancel, Command, Limit, Market, Reduce, Unwind, Update
from .orders import Order
from .terms import AskTerms, BidConstraints, constraints_problem, terms_problem
from .types import MAX_LIST_ITEMS, MAX_PRICE, MAX_QTY, MAX_TEXT_LENGTH, Side, TimeInForce


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
    return _market_problem(cmd, continuous)


def _market_problem(cmd: Market, continuous: bool) -> str | None:
    """Checks that only market orders need: time in force."""
    tif = cmd.tif
    if tif is TimeInForce.IOC:
        return None
    if tif is not TimeInForce.FOK:
        return "a market order is IOC or FOK"
    if cmd.qty is None:
        return "fill-or-kill needs a finite quantity"
    if not continuous:
        return "fill-or-kill is refused while the instrument trades by auction"
    return None


def owner_problem(order: Order, participant: str | None) -> str | None:
    """Why a participant named on a command may not touch this order, or None."""
    if participant is not None and participant != order.participant:
        return "the order belongs to another participant"
    return None


def cancel_problem(order: Order | None, cmd: Cancel) -> str | None:
    """Why a cancel command is refused, or None."""
    if order is None:
        return "no live order with this id"
    return owner_problem(order, cmd.participant)


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
    owner = owner_problem(order, cmd.participant)
    if owner is not None:
        return owner
    if cmd.qty <= 0:
        return "qty to reduce by must be positive"
    if order.unlimited:
        return "an unlimited ask cannot be reduced; cancel it"
    return None


def amend_problem(order: Order | None, cmd: Amend) -> str | None:
    """Why an amend command is refused, or None."""
    if order is None:
        return "no live order with this id"
    owner = owner_problem(order, cmd.participant)
    if owner is not None:
        return owner
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
    owner = owner_problem(order, cmd.participant)
    if owner is not None:
        return owner
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


def size_problem(cmd: Command) -> str | None:
    """Why a command carries more than an order may (too long a name, too many list entries).

    Every list of terms or constraints holds at most MAX_LIST_ITEMS entries and every string at
    most MAX_TEXT_LENGTH characters. The engine itself does not apply this check (journals of
    older formats hold orders it would refuse); the market applies it before journaling.
    """
    texts: list[tuple[str, str | None]] = []
    lists: list[tuple[str, frozenset[str]]] = []
    constraints: BidConstraints | None = None
    terms: AskTerms | None = None
    if isinstance(cmd, (Limit, Market, Update)):
        texts = [("id", cmd.id), ("instrument", cmd.instrument), ("participant", cmd.participant)]
        constraints = cmd.constraints
        terms = cmd.terms
    elif isinstance(cmd, (Cancel, Reduce, Amend)):
        texts = [("id", cmd.id), ("instrument", cmd.instrument), ("participant", cmd.participant)]
    elif isinstance(cmd, Unwind):
        texts = [("instrument", cmd.instrument), ("buy_id", cmd.buy_id), ("sell_id", cmd.sell_id)]
    if constraints is not None:
        texts += [("purpose", constraints.purpose), ("dataset_id", constraints.dataset_id)]
        lists += [
            ("data_classes", constraints.data_classes),
            ("required_tags", constraints.required_tags),
            ("required_columns", constraints.required_columns),
            ("recipient_categories", constraints.recipient_categories),
        ]
    if terms is not None:
        texts += [("dataset_id", terms.dataset_id), ("data_class", terms.data_class)]
        lists += [
            ("tags", terms.tags),
            ("columns", terms.columns),
            ("allowed_purposes", terms.allowed_purposes),
            ("allowed_recipients", terms.allowed_recipients),
            ("denied_recipients", terms.denied_recipients),
        ]
        # The market builds the per-purpose recipients from its registry (one entry per
        # recipient and purpose), so they have no count limit, only the length of each name.
        for pair in terms.purpose_recipients or ():
            texts += [("purpose_recipients", pair[0]), ("purpose_recipients", pair[1])]
    for name, text in texts:
        if text is not None and len(text) > MAX_TEXT_LENGTH:
            return f"{name} is longer than {MAX_TEXT_LENGTH} characters"
    for name, values in lists:
        if len(values) > MAX_LIST_ITEMS:
            return f"{name} has more than {MAX_LIST_ITEMS} entries"
        for value in values:
            if len(value) > MAX_TEXT_LENGTH:
                return f"an entry of {name} is longer than {MAX_TEXT_LENGTH} characters"
    return None
