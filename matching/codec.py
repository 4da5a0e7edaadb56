"""The JSON Lines format: commands and events as plain dicts (see docs/matching.md)."""

from dataclasses import fields
from enum import Enum
from typing import Any

from .commands import (
    Amend,
    Cancel,
    Clock,
    Command,
    Limit,
    Market,
    Reduce,
    RunAuction,
    SetMode,
    Update,
)
from .events import (
    Accepted,
    Amended,
    AuctionResult,
    Cancelled,
    Event,
    Expired,
    ModeChanged,
    Reduced,
    Rejected,
    TradeExecuted,
    Updated,
)
from .fields import ASK_FIELDS, BID_FIELDS, FieldReader, constraints_to_dict, terms_to_dict
from .terms import AskTerms, BidConstraints
from .types import Mode, Side, TimeInForce

EVENT_TYPES: dict[type, str] = {
    Accepted: "accepted",
    Rejected: "rejected",
    TradeExecuted: "trade",
    Reduced: "reduced",
    Cancelled: "cancelled",
    Expired: "expired",
    Amended: "amended",
    Updated: "updated",
    ModeChanged: "mode",
    AuctionResult: "auction",
}
_EVENT_CLASSES = {name: cls for cls, name in EVENT_TYPES.items()}


def command_from_dict(data: dict[str, Any]) -> Command:
    """Build a command from its JSON object; raise ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a command must be a JSON object")
    op = data.get("op")
    reader = FieldReader(data)
    reader.take("op")
    command: Command
    if op == "limit":
        command = _limit(reader)
    elif op == "market":
        command = _market(reader)
    elif op == "cancel":
        command = Cancel(reader.text("id"), reader.text("instrument"))
    elif op == "reduce":
        command = Reduce(reader.text("id"), reader.text("instrument"), reader.integer("qty"))
    elif op == "amend":
        command = Amend(
            reader.text("id"),
            reader.text("instrument"),
            reader.optional_integer("price"),
            reader.optional_integer("qty"),
        )
    elif op == "update":
        side = reader.choice("side", Side)
        ident = reader.text("id")
        instrument = reader.text("instrument")
        constraints, terms = _attributes(reader, side)
        command = Update(ident, instrument, side, constraints, terms)
    elif op == "clock":
        command = Clock(reader.integer("now"))
    elif op == "auction":
        command = RunAuction(reader.text("instrument"), reader.optional_integer("reference_price"))
    elif op == "set_mode":
        command = SetMode(
            reader.text("instrument"),
            reader.choice("mode", Mode),
            reader.optional_integer("interval_ms"),
        )
    else:
        raise ValueError(f"unknown op {op!r}")
    reader.finish()
    return command


def _limit(reader: FieldReader) -> Limit:
    """Read a limit order."""
    side = reader.choice("side", Side)
    ident = reader.text("id")
    instrument = reader.text("instrument")
    participant = reader.text("participant")
    price = reader.integer("price")
    qty = reader.optional_integer("qty", required=True)
    tif = reader.choice("tif", TimeInForce) if reader.has("tif") else TimeInForce.GTC
    expires_at = reader.optional_integer("expires_at")
    constraints, terms = _attributes(reader, side)
    return Limit(
        ident, instrument, participant, side, price, qty, tif, expires_at, constraints, terms
    )


def _market(reader: FieldReader) -> Market:
    """Read a market order."""
    side = reader.choice("side", Side)
    ident = reader.text("id")
    instrument = reader.text("instrument")
    participant = reader.text("participant")
    qty = reader.optional_integer("qty", required=True)
    constraints, terms = _attributes(reader, side)
    return Market(ident, instrument, participant, side, qty, constraints, terms)


def _attributes(reader: FieldReader, side: Side) -> tuple[BidConstraints | None, AskTerms | None]:
    """Read the flattened constraint fields of a bid or term fields of an ask, if present."""
    if side is Side.BUY:
        if not reader.has("purpose"):
            reader.refuse(BID_FIELDS, "bid constraint fields need a purpose")
            return None, None
        return reader.constraints(), None
    if not reader.has("data_class"):
        reader.refuse(ASK_FIELDS, "ask term fields need a data_class")
        return None, None
    return None, reader.terms()


def command_to_dict(cmd: Command) -> dict[str, Any]:
    """The JSON object of a command (every field, sets as sorted lists)."""
    if isinstance(cmd, Limit):
        data: dict[str, Any] = {
            "op": "limit",
            "id": cmd.id,
            "instrument": cmd.instrument,
            "participant": cmd.participant,
            "side": cmd.side.value,
            "price": cmd.price,
            "qty": cmd.qty,
            "tif": cmd.tif.value,
            "expires_at": cmd.expires_at,
        }
        return _with_attributes(data, cmd.constraints, cmd.terms)
    if isinstance(cmd, Market):
        data = {
            "op": "market",
            "id": cmd.id,
            "instrument": cmd.instrument,
            "participant": cmd.participant,
            "side": cmd.side.value,
            "qty": cmd.qty,
        }
        return _with_attributes(data, cmd.constraints, cmd.terms)
    if isinstance(cmd, Cancel):
        return {"op": "cancel", "id": cmd.id, "instrument": cmd.instrument}
    if isinstance(cmd, Reduce):
        return {"op": "reduce", "id": cmd.id, "instrument": cmd.instrument, "qty": cmd.qty}
    if isinstance(cmd, Amend):
        return {
            "op": "amend",
            "id": cmd.id,
            "instrument": cmd.instrument,
            "price": cmd.price,
            "qty": cmd.qty,
        }
    if isinstance(cmd, Update):
        data = {"op": "update", "id": cmd.id, "instrument": cmd.instrument, "side": cmd.side.value}
        return _with_attributes(data, cmd.constraints, cmd.terms)
    if isinstance(cmd, Clock):
        return {"op": "clock", "now": cmd.now}
    if isinstance(cmd, RunAuction):
        return {
            "op": "auction",
            "instrument": cmd.instrument,
            "reference_price": cmd.reference_price,
        }
    if isinstance(cmd, SetMode):
        return {
            "op": "set_mode",
            "instrument": cmd.instrument,
            "mode": cmd.mode.value,
            "interval_ms": cmd.interval_ms,
        }
    raise ValueError(f"not a command: {cmd!r}")


def _with_attributes(
    data: dict[str, Any], constraints: BidConstraints | None, terms: AskTerms | None
) -> dict[str, Any]:
    """Flatten constraints or terms into the command's object."""
    if constraints is not None:
        data.update(constraints_to_dict(constraints))
    if terms is not None:
        data.update(terms_to_dict(terms))
    return data


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON object of an event: its type, then its fields."""
    data: dict[str, Any] = {"type": EVENT_TYPES[type(event)]}
    for field in fields(event):
        value = getattr(event, field.name)
        data[field.name] = value.value if isinstance(value, Enum) else value
    return data


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its JSON object (the inverse of `event_to_dict`)."""
    cls = _EVENT_CLASSES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type {data.get('type')!r}")
    values = {k: v for k, v in data.items() if k != "type"}
    if cls is ModeChanged:
        values["mode"] = Mode(values["mode"])
    event: Event = cls(**values)
    return event
