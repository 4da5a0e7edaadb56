"""A payment's states and the one rule that moves between them: only forward.

Provider answers and webhooks arrive late, twice or out of order; each is applied only when it
moves a payment forward, so a stale `payment_failed` never undoes a success. Retrying a failed
payment (the buyer gave a new card) is the one explicit step back, taken by the market itself.
"""

RANK = {
    "requested": 0,  # no PaymentIntent yet
    "created": 1,  # a PaymentIntent exists, not confirmed
    "failed": 2,  # declined; the buyer is told why
    "authorized": 3,  # held on the card (manual capture), no trade yet
    "capture_due": 4,  # held, and a trade is to be captured
    "cancel_due": 4,  # held, and the bid ended: the hold is to be released
    "succeeded": 5,
    "cancelled": 5,
    "expired": 5,  # the trade failed: not paid by its deadline
}
FINAL = frozenset(s for s, r in RANK.items() if r == 5)
# States in which the driver has a call to make.
ACTIONABLE = ("requested", "created", "capture_due", "cancel_due")
# A payment not yet bound to a trade that a trade of its bid may use.
UNBOUND_USABLE = ("requested", "created", "authorized")


def moves_forward(current: str, new: str) -> bool:
    """Whether `new` is a step forward from `current`."""
    return RANK[new] > RANK[current]
