"""Everything `matching` offers, from one build (interpreted here; compiled in `_native`)."""

from matching.errors import CorruptBook, JournalError

from .checkpoint import SNAPSHOT_FORMAT
from .codec import (
    COMMAND_FORMAT,
    COMMAND_FORMATS,
    command_from_dict,
    command_to_dict,
    event_from_dict,
    event_to_dict,
)
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
from .engine import Engine, render_capture
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
from .replay import events_to_lines, parse_journal, replay
from .terms import AskTerms, BidConstraints, eligible
from .types import DATA_CLASSES, MAX_LIST_ITEMS, MAX_TEXT_LENGTH, Mode, Side, TimeInForce
from .validation import size_problem

__all__ = [
    "COMMAND_FORMAT",
    "COMMAND_FORMATS",
    "DATA_CLASSES",
    "MAX_LIST_ITEMS",
    "MAX_TEXT_LENGTH",
    "SNAPSHOT_FORMAT",
    "Accepted",
    "Amend",
    "Amended",
    "AskTerms",
    "AuctionResult",
    "BidConstraints",
    "Cancel",
    "Cancelled",
    "Clock",
    "Command",
    "CorruptBook",
    "Engine",
    "Event",
    "Expired",
    "JournalError",
    "Limit",
    "Market",
    "Mode",
    "ModeChanged",
    "Reduce",
    "Reduced",
    "Rejected",
    "RunAuction",
    "SetMode",
    "Side",
    "TimeInForce",
    "TradeExecuted",
    "TradeUnwound",
    "Unwind",
    "Update",
    "Updated",
    "command_from_dict",
    "command_to_dict",
    "eligible",
    "event_from_dict",
    "event_to_dict",
    "events_to_lines",
    "parse_journal",
    "render_capture",
    "replay",
    "size_problem",
]
