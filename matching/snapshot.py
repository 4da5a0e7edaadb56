"""Canonical, implementation-independent view of a book, for the state hash."""

from .bookbase import BookBase
from .orders import Order
from .terms import AskTerms, BidConstraints


def book_state(book: BookBase, schedule: tuple[int, int] | None) -> tuple[object, ...]:
    """Mode, schedule, last price and every live order in priority order."""
    orders = [order_state(o) for o in book.live_orders()]
    return (book.instrument, book.continuous, schedule, book.last_price, orders)


def order_state(order: Order) -> tuple[object, ...]:
    """Everything about a live order that decides how it will trade (its seq is positional)."""
    bought = None if order.bought is None else sorted(order.bought)
    return (
        order.id,
        order.participant,
        order.is_buy,
        order.is_market,
        order.price,
        None if order.unlimited else order.qty,
        order.tif.value,
        order.expires_at,
        terms_state(order.terms),
        constraints_state(order.constraints),
        bought,
    )


def terms_state(terms: AskTerms | None) -> tuple[object, ...] | None:
    """Ask terms as a tuple with sets sorted."""
    if terms is None:
        return None
    return (
        terms.dataset_id,
        terms.data_class,
        terms.quality,
        terms.k,
        sorted(terms.tags),
        sorted(terms.columns),
        sorted(terms.allowed_purposes),
        sorted(terms.allowed_recipients),
        sorted(terms.denied_recipients),
        terms.term_days,
        terms.exclusive,
    ) + (
        (() if terms.purpose_recipients is None else (sorted(terms.purpose_recipients),))
        # Appended only when set, so the state hash of books without linkable asks is unchanged.
        + (("linkable",) if terms.linkable else ())
    )


def constraints_state(constraints: BidConstraints | None) -> tuple[object, ...] | None:
    """Bid constraints as a tuple with sets sorted."""
    if constraints is None:
        return None
    return (
        constraints.purpose,
        sorted(constraints.data_classes),
        constraints.min_quality,
        constraints.min_k,
        sorted(constraints.required_tags),
        sorted(constraints.required_columns),
        sorted(constraints.recipient_categories),
        constraints.dataset_id,
        constraints.min_term_days,
        constraints.exclusive,
    ) + (
        ((sorted(constraints.held_datasets),) if constraints.held_datasets else ())
        + (("confirms_linkable_consent",) if constraints.confirms_linkable_consent else ())
    )
