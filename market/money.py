"""Money limits shared by the API, the market and its 64-bit money columns.

Amounts are integer yen. `MAX_YEN` bounds any single price, limit or payment the market accepts,
so that a price times the largest quantity a bid may ask for (`MAX_QUANTITY`) still fits a signed
64-bit column, and stays below the matching engine's own price ceiling.
"""

from typing import Final

MAX_YEN: Final = 10**12
MAX_QUANTITY: Final = 1_000
