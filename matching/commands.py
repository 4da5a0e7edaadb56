"""Commands: the only inputs of the engine (time enters only through `Clock`)."""

from dataclasses import dataclass
from typing import Final, final

from .terms import AskTerms, BidConstraints
from .types import Mode, Side, TimeInForce


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Limit:
    """Place a limit order; `qty=None` is an unlimited licence offer (asks only)."""

    id: Final[str]
    instrument: Final[str]
    participant: Final[str]
    side: Final[Side]
    price: Final[int]
    qty: Final[int | None]
    tif: Final[TimeInForce]
    expires_at: Final[int | None]
    constraints: Final[BidConstraints | None]
    terms: Final[AskTerms | None]

    def __init__(
        self,
        id: str,
        instrument: str,
        participant: str,
        side: Side,
        price: int,
        qty: int | None,
        tif: TimeInForce = TimeInForce.GTC,
        expires_at: int | None = None,
        constraints: BidConstraints | None = None,
        terms: AskTerms | None = None,
    ) -> None:
        self.id = id
        self.instrument = instrument
        self.participant = participant
        self.side = side
        self.price = price
        self.qty = qty
        self.tif = tif
        self.expires_at = expires_at
        self.constraints = constraints
        self.terms = terms


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Market:
    """Place a market order: immediate in continuous mode, collected for the next auction in periodic mode.

    `tif` is IOC (the unfilled part is cancelled) or FOK (all or nothing, continuous mode only).
    """

    id: Final[str]
    instrument: Final[str]
    participant: Final[str]
    side: Final[Side]
    qty: Final[int | None]
    constraints: Final[BidConstraints | None]
    terms: Final[AskTerms | None]
    tif: Final[TimeInForce]

    def __init__(
        self,
        id: str,
        instrument: str,
        participant: str,
        side: Side,
        qty: int | None,
        constraints: BidConstraints | None = None,
        terms: AskTerms | None = None,
        tif: TimeInForce = TimeInForce.IOC,
    ) -> None:
        self.id = id
        self.instrument = instrument
        self.participant = participant
        self.side = side
        self.qty = qty
        self.constraints = constraints
        self.terms = terms
        self.tif = tif


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Cancel:
    """Cancel a resting order; a named `participant` must own it."""

    id: Final[str]
    instrument: Final[str]
    participant: Final[str | None]

    def __init__(self, id: str, instrument: str, participant: str | None = None) -> None:
        self.id = id
        self.instrument = instrument
        self.participant = participant


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Reduce:
    """Reduce a resting order's remaining size by `qty`, keeping its place (owner: `participant`)."""

    id: Final[str]
    instrument: Final[str]
    qty: Final[int]
    participant: Final[str | None]

    def __init__(self, id: str, instrument: str, qty: int, participant: str | None = None) -> None:
        self.id = id
        self.instrument = instrument
        self.qty = qty
        self.participant = participant


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Amend:
    """Change a resting order's price and/or remaining size (None keeps the current value).

    The order loses its time priority when the price changes or the size grows. A named
    `participant` must own the order.
    """

    id: Final[str]
    instrument: Final[str]
    price: Final[int | None]
    qty: Final[int | None]
    participant: Final[str | None]

    def __init__(
        self,
        id: str,
        instrument: str,
        price: int | None = None,
        qty: int | None = None,
        participant: str | None = None,
    ) -> None:
        self.id = id
        self.instrument = instrument
        self.price = price
        self.qty = qty
        self.participant = participant


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Update:
    """Replace a resting order's non-price attributes (ask terms or bid constraints), keeping its time.

    A named `participant` must own the order.
    """

    id: Final[str]
    instrument: Final[str]
    side: Final[Side]
    constraints: Final[BidConstraints | None]
    terms: Final[AskTerms | None]
    participant: Final[str | None]

    def __init__(
        self,
        id: str,
        instrument: str,
        side: Side,
        constraints: BidConstraints | None = None,
        terms: AskTerms | None = None,
        participant: str | None = None,
    ) -> None:
        self.id = id
        self.instrument = instrument
        self.side = side
        self.constraints = constraints
        self.terms = terms
        self.participant = participant


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Clock:
    """Advance the engine's time to `now` (epoch ms): expiries and scheduled auctions fall due."""

    now: Final[int]

    def __init__(self, now: int) -> None:
        self.now = now


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class RunAuction:
    """Run a call auction on an instrument now (operator command)."""

    instrument: Final[str]
    reference_price: Final[int | None]

    def __init__(self, instrument: str, reference_price: int | None = None) -> None:
        self.instrument = instrument
        self.reference_price = reference_price


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class SetMode:
    """Switch an instrument between continuous trading and periodic call auctions.

    In periodic mode with `interval_ms`, an auction runs every interval; without it, only
    on `RunAuction`. Switching to continuous first runs an auction to open the book.
    """

    instrument: Final[str]
    mode: Final[Mode]
    interval_ms: Final[int | None]

    def __init__(self, instrument: str, mode: Mode, interval_ms: int | None = None) -> None:
        self.instrument = instrument
        self.mode = mode
        self.interval_ms = interval_ms


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Unwind:
    """Void trade `seq` (`qty` licences of ask `sell_id` to bid `buy_id`) the market could not
    complete, e.g. one a data-ethics board rejected.

    The ask gets the licences back when it still rests with a limited size (an unlimited ask
    lost none); the bid does not: its demand was answered, by a refusal. The journal keeps the
    unwind, so a replay yields the same books and the same `TradeUnwound`.
    """

    instrument: Final[str]
    seq: Final[int]
    buy_id: Final[str]
    sell_id: Final[str]
    qty: Final[int]

    def __init__(self, instrument: str, seq: int, buy_id: str, sell_id: str, qty: int) -> None:
        self.instrument = instrument
        self.seq = seq
        self.buy_id = buy_id
        self.sell_id = sell_id
        self.qty = qty


Command = Limit | Market | Cancel | Reduce | Amend | Update | Clock | RunAuction | SetMode | Unwind
