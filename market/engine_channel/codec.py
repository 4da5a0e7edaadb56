"""The engine channel's messages: typed order commands, answers and problems as JSON.

A worker process sends the engine owner one message per trading command: a command id, the
operation, the participant's id and the command's fields. The owner answers with the ids of the
rows its transaction committed, or with the problem (type, status, title, reason) a single
process would have raised. JSON, never pickle: a message read from Redis cannot run code.
"""

import dataclasses
import json
from typing import Any

from market.errors import MarketError
from market.trading.batch import BatchAnswer, BatchItem, CancelOrder
from market.trading.commands import LicenceTerms, OfferLicences, OfferRecords, PlaceBid

Order = PlaceBid | OfferLicences | OfferRecords | CancelOrder
_KINDS: dict[str, type[Any]] = {
    "place_bid": PlaceBid,
    "offer_licences": OfferLicences,
    "offer_records": OfferRecords,
    "cancel": CancelOrder,
}


class EngineChannelUnavailable(MarketError):
    """The engine owner could not be reached, or did not answer in time."""

    status = 503
    title = "The matching engine is not reachable"


class ForwardedFailure(MarketError):
    """The engine owner failed on a command with an error that is not a domain error."""

    status = 500
    title = "Internal error"


def encode_order(order: Order) -> dict[str, Any]:
    """A typed order command as a JSON object tagged with its kind."""
    kind = next(name for name, cls in _KINDS.items() if isinstance(order, cls))
    return {"kind": kind, **dataclasses.asdict(order)}


def decode_order(data: dict[str, Any]) -> Order:
    """The typed order command of `encode_order`'s object (unknown fields are refused)."""
    fields = dict(data)
    cls = _KINDS[fields.pop("kind")]
    if "terms" in fields:
        fields["terms"] = LicenceTerms(**fields["terms"])
    order: Order = cls(**fields)
    return order


def encode_items(items: list[BatchItem]) -> list[dict[str, Any]]:
    return [
        {
            "client_order_id": item.client_order_id,
            "request_hash": item.request_hash,
            "order": encode_order(item.order),
        }
        for item in items
    ]


def decode_items(data: list[dict[str, Any]]) -> list[BatchItem]:
    return [
        BatchItem(
            client_order_id=item["client_order_id"],
            request_hash=item["request_hash"],
            order=decode_order(item["order"]),
        )
        for item in data
    ]


def encode_answers(answers: list[BatchAnswer]) -> list[dict[str, Any]]:
    return [{**answer.stored(), "replayed": answer.replayed} for answer in answers]


def decode_answers(data: list[dict[str, Any]]) -> list[BatchAnswer]:
    return [BatchAnswer(**answer) for answer in data]


def encode_problem(error: BaseException) -> dict[str, Any]:
    """The error as the worker re-raises it; only a domain error's reason crosses the channel."""
    if isinstance(error, MarketError):
        return {
            "type": type(error).__name__,
            "status": error.status,
            "title": error.title,
            "reason": error.reason,
        }
    # Not a domain error: its message may quote data, so only that it happened is sent.
    return {"type": "", "status": 500, "title": ForwardedFailure.title, "reason": ""}


def decode_problem(problem: dict[str, Any]) -> MarketError:
    """The domain error of `encode_problem`, as the same class where it is known."""
    cls = _market_errors().get(problem["type"])
    if cls is None:
        error: MarketError = ForwardedFailure(
            problem["reason"] or "the matching engine failed on this command"
        )
    else:
        try:
            error = cls(problem["reason"])
        except TypeError:
            error = MarketError(problem["reason"])
    # The owner's status and title stand, even for a class whose default differs.
    error.status = problem["status"]
    error.title = problem["title"]
    return error


def dumps(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("an engine channel message is a JSON object")
    return value


def _market_errors() -> dict[str, type[MarketError]]:
    found: dict[str, type[MarketError]] = {}
    pending: list[type[MarketError]] = [MarketError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found
