"""Events: the only outputs of the engine."""

from dataclasses import dataclass
from typing import Final, final

from .types import Mode


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Accepted:
    """An order passed validation and entered the book (it may trade at once)."""

    id: Final[str]
    instrument: Final[str]

    def __init__(self, id: str, instrument: str) -> None:
        self.id = id
        self.instrument = instrument


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Rejected:
    """A command was refused; nothing changed."""

    id: Final[str]
    instrument: Final[str]
    reason: Final[str]

    def __init__(self, id: str, instrument: str, reason: str) -> None:
        self.id = id
        self.instrument = instrument
        self.reason = reason


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class TradeExecuted:
    """Licences changed hands at `price` yen each."""

    seq: Final[int]
    instrument: Final[str]
    buy_id: Final[str]
    sell_id: Final[str]
    buyer: Final[str]
    seller: Final[str]
    price: Final[int]
    qty: Final[int]
    dataset_id: Final[str | None]

    def __init__(
        self,
        seq: int,
        instrument: str,
        buy_id: str,
        sell_id: str,
        buyer: str,
        seller: str,
        price: int,
        qty: int,
        dataset_id: str | None,
    ) -> None:
        self.seq = seq
        self.instrument = instrument
        self.buy_id = buy_id
        self.sell_id = sell_id
        self.buyer = buyer
        self.seller = seller
        self.price = price
        self.qty = qty
        self.dataset_id = dataset_id


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Reduced:
    """A resting order's size went down by `qty`; `remaining` 0 means it left the book."""

    id: Final[str]
    instrument: Final[str]
    qty: Final[int]
    remaining: Final[int]

    def __init__(self, id: str, instrument: str, qty: int, remaining: int) -> None:
        self.id = id
        self.instrument = instrument
        self.qty = qty
        self.remaining = remaining


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Cancelled:
    """An order left the book unfilled for `qty` licences (None: an unlimited ask)."""

    id: Final[str]
    instrument: Final[str]
    qty: Final[int | None]
    reason: Final[str]

    def __init__(self, id: str, instrument: str, qty: int | None, reason: str) -> None:
        self.id = id
        self.instrument = instrument
        self.qty = qty
        self.reason = reason


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Expired:
    """A GTD order reached its expiry time and left the book."""

    id: Final[str]
    instrument: Final[str]
    qty: Final[int | None]

    def __init__(self, id: str, instrument: str, qty: int | None) -> None:
        self.id = id
        self.instrument = instrument
        self.qty = qty


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Amended:
    """A resting order now has this price and remaining size (None: unlimited)."""

    id: Final[str]
    instrument: Final[str]
    price: Final[int]
    qty: Final[int | None]

    def __init__(self, id: str, instrument: str, price: int, qty: int | None) -> None:
        self.id = id
        self.instrument = instrument
        self.price = price
        self.qty = qty


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class Updated:
    """A resting order's terms or constraints were replaced; it kept its time priority."""

    id: Final[str]
    instrument: Final[str]

    def __init__(self, id: str, instrument: str) -> None:
        self.id = id
        self.instrument = instrument


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class ModeChanged:
    """An instrument switched trading mode."""

    instrument: Final[str]
    mode: Final[Mode]
    interval_ms: Final[int | None]

    def __init__(self, instrument: str, mode: Mode, interval_ms: int | None) -> None:
        self.instrument = instrument
        self.mode = mode
        self.interval_ms = interval_ms


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class AuctionResult:
    """A call auction ran: the uniform price (None: no trade possible), volume and imbalance."""

    instrument: Final[str]
    price: Final[int | None]
    volume: Final[int]
    imbalance: Final[int]

    def __init__(self, instrument: str, price: int | None, volume: int, imbalance: int) -> None:
        self.instrument = instrument
        self.price = price
        self.volume = volume
        self.imbalance = imbalance


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class TradeUnwound:
    """Trade `seq` was voided; `restored` licences went back to the ask (0: unlimited or gone)."""

    seq: Final[int]
    instrument: Final[str]
    buy_id: Final[str]
    sell_id: Final[str]
    qty: Final[int]
    restored: Final[int]

    def __init__(
        self, seq: int, instrument: str, buy_id: str, sell_id: str, qty: int, restored: int
    ) -> None:
        self.seq = seq
        self.instrument = instrument
        self.buy_id = buy_id
        self.sell_id = sell_id
        self.qty = qty
        self.restored = restored


Event = (
    Accepted
    | Rejected
    | TradeExecuted
    | Reduced
    | Cancelled
    | Expired
    | Amended
    | Updated
    | ModeChanged
    | AuctionResult
    | TradeUnwound
)
