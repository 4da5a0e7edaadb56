"""Enumerations and limits shared by commands, events and books."""

from enum import Enum
from typing import Final


class Side(Enum):
    """Side of an order: a buyer bids, a seller asks."""

    BUY = "buy"
    SELL = "sell"


class TimeInForce(Enum):
    """How long an order may rest: until cancelled, until a time, or not at all."""

    GTC = "GTC"
    GTD = "GTD"
    IOC = "IOC"
    FOK = "FOK"


class Mode(Enum):
    """How an instrument trades: continuously, or only in call auctions."""

    CONTINUOUS = "continuous"
    PERIODIC = "periodic"


DATA_CLASSES: Final = frozenset({"personal", "anonymized", "non_personal"})
MAX_QUALITY: Final = 100
# Prices and sizes stay far below 2**62 so sort keys built from them fit a machine word.
MAX_PRICE: Final = 1 << 50
MAX_QTY: Final = 1 << 50
# Bounds on what one order may carry, so that no order makes a journal row or a snapshot huge.
MAX_LIST_ITEMS: Final = 100
MAX_TEXT_LENGTH: Final = 200
