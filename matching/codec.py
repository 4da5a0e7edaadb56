"""The JSON Lines format: commands and events as plain dicts (see docs/matching.md).

The command format is versioned. Version 1 refused `participant` on cancel, reduce, amend and
update and `tif` on market orders; version 2 (current) accepts them. Every version-1 object
reads the same in version 2, so journals written in version 1 keep replaying.
"""

from dataclasses import fields
from enum import Enum
from typing import Any, Final

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
    Unwind,
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
    TradeUnwound,
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
    TradeUnwound: "unwound",
}
_EVENT_CLASSES = {name: cls for cls, name in EVENT_TYPES.items()}

COMMAND_FORMAT: Final = 2
COMMAND_FORMATS: Final = (1, 2)


def command_from_dict(data: dict[str, Any], version: int = COMMAND_FORMAT) -> Command:
    """Build a command from its JSON object in format `version`; raise ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("a command must be a JSON object")
    if version not in COMMAND_FORMATS:
        raise ValueError(f"unknown command format {version} (this build reads 1 and 2)")
    op = data.get("op")
    reader = FieldReader(data)
    reader.take("op")
    owned = version >= 2
    command: Command
    if op == "limit":
        command = _limit(reader)
    elif op == "market":
        command = _market(reader, owned)
    elif op == "cancel":
        ident = reader.text("id")
        instrument = reader.text("instrument")
        command = Cancel(ident, instrument, _owner(reader, owned))
    elif op == "reduce":
        ident = reader.text("id")
        instrument = reader.text("instrument")
        qty = reader.integer("qty")
        command = Reduce(ident, instrument, qty, _owner(reader, owned))
    elif op == "amend":
        command = Amend(
            reader.text("id"),
            reader.text("instrument"),
            reader.optional_integer("price"),
            reader.optional_integer("qty"),
            _owner(reader, owned),
        )
    elif op == "update":
        side = reader.choice("side", Side)
        ident = reader.text("id")
        instrument = reader.text("instrument")
        participant = _owner(reader, owned)
        constraints, terms = _attributes(reader, side)
        command = Update(ident, instrument, side, constraints, terms, participant)
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
    elif op == "unwind" and owned:
        command = Unwind(
            reader.text("instrument"),
            reader.integer("seq"),
            reader.text("buy_id"),
            reader.text("sell_id"),
            reader.integer("qty"),
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


def _market(reader: FieldReader, with_tif: bool) -> Market:
    """Read a market order (`tif` from format 2 on)."""
    side = reader.choice("side", Side)
    ident = reader.text("id")
    instrument = reader.text("instrument")
    participant = reader.text("participant")
    qty = reader.optional_integer("qty", required=True)
    tif = TimeInForce.IOC
    if with_tif and reader.has("tif"):
        tif = reader.choice("tif", TimeInForce)
    constraints, terms = _attributes(reader, side)
    return Market(ident, instrument, participant, side, qty, constraints, terms, tif)


def _owner(reader: FieldReader, allowed: bool) -> str | None:
    """The optional `participant` of a command on a live order (format 2 on)."""
    if not allowed:
        return None
    return reader.optional_text("participant")


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
    """The JSON object of a command (every field, sets as sorted lists).

    A command on a live order that names no owner and a market order's default IOC are left
    out, so commands that format 1 could express are written as format 1 wrote them.
    """
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
        if cmd.tif is not TimeInForce.IOC:
            data["tif"] = cmd.tif.value
        return _with_attributes(data, cmd.constraints, cmd.terms)
    if isinstance(cmd, Cancel):
        data = {"op": "cancel", "id": cmd.id, "instrument": cmd.instrument}
        return _with_owner(data, cmd.participant)
    if isinstance(cmd, Reduce):
        data = {"op": "reduce", "id": cmd.id, "instrument": cmd.instrument, "qty": cmd.qty}
        return _with_owner(data, cmd.participant)
    if isinstance(cmd, Amend):
        data = {
            "op": "amend",
            "id": cmd.id,
            "instrument": cmd.instrument,
            "price": cmd.price,
            "qty": cmd.qty,
        }
        return _with_owner(data, cmd.participant)
    if isinstance(cmd, Update):
        data = {"op": "update", "id": cmd.id, "instrument": cmd.instrument, "side": cmd.side.value}
        _with_owner(data, cmd.participant)
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
    if isinstance(cmd, Unwind):
        return {
            "op": "unwind",
            "instrument": cmd.instrument,
            "seq": cmd.seq,
            "buy_id": cmd.buy_id,
            "sell_id": cmd.sell_id,
            "qty": cmd.qty,
        }
    raise ValueError(f"not a command: {cmd!r}")


def _with_owner(data: dict[str, Any], participant: str | None) -> dict[str, Any]:
    """Add the owner a command names (left out when none is named, as format 1 wrote it)."""
    if participant is not None:
        data["participant"] = participant
    return data


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
