"""When a transfer or a transfer reversal the provider refused is tried again.

A definite refusal (the provider answered and said no: a 4xx such as a connected account that
cannot receive transfers yet, or a balance too low to reverse from) ends an attempt. The next
attempt, with the next number and so a new idempotency key, is committed and sent once the
delay after the refusal has passed: 1 minute, 5 minutes, 30 minutes, 2 hours, then 12 hours.
After `MAX_ATTEMPTS` refusals the call is left to an operator, and `datamarket settlement
reconcile` lists it. A lost answer (a timeout, a 5xx) is no refusal: the driver resends the
same attempt with the same key (`transfers.py`).
"""

from datetime import datetime, timedelta

# The wait after the n-th refusal before attempt n + 1 is sent.
DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(DELAYS) + 1
# An attempt's status after a refusal: tried again later, or left to an operator.
REFUSED = "failed"
FOR_OPERATOR = "for_operator"


def refusal_status(attempt: int) -> str:
    """The status of the `attempt`-th attempt once the provider refused it."""
    return FOR_OPERATOR if attempt >= MAX_ATTEMPTS else REFUSED


def retry_at(*, attempt: int, refused_at: datetime) -> datetime | None:
    """When the attempt after a refused `attempt`-th one may be sent; None once none is left."""
    if not 1 <= attempt < MAX_ATTEMPTS:
        return None
    return refused_at + DELAYS[attempt - 1]


def left_to_operator(*, status: str, attempt: int) -> bool:
    """Whether a refused attempt is the last one: no retry follows, an operator settles it."""
    return status == FOR_OPERATOR or (status == REFUSED and attempt >= MAX_ATTEMPTS)
