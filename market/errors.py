"""Domain errors: each names what went wrong and carries a reason a person can act on.

`status` is the HTTP status the API maps the error to; the domain itself knows nothing of HTTP
beyond this hint.
"""


class MarketError(Exception):
    """Base of every domain error."""

    status = 400
    title = "Request cannot be processed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(MarketError):
    status = 404
    title = "Not found"


class Forbidden(MarketError):
    status = 403
    title = "Not allowed"


class Conflict(MarketError):
    status = 409
    title = "Conflict"


class InvalidRequest(MarketError):
    status = 422
    title = "Invalid request"


class UploadRejected(InvalidRequest):
    title = "Upload rejected"


class DatasetCorrupted(MarketError):
    status = 500
    title = "Stored dataset failed its integrity check"


class CreditLimitExceeded(MarketError):
    status = 402
    title = "Credit limit exceeded"


class OrderRejected(InvalidRequest):
    title = "Order rejected"


class EngineOwnedElsewhere(MarketError):
    """Another process owns the matching engine of this database (one owner at a time)."""

    status = 503
    title = "The matching engine is owned by another process"


class EngineOwnershipLost(EngineOwnedElsewhere):
    """This process was the engine owner but another has taken over: it may not trade any more."""

    title = "This process no longer owns the matching engine"
