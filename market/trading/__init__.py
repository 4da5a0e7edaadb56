"""Trading: the engine owner, its journal and snapshots.

`service.py` drives the matching engine (journal, snapshots, restore), `ownership.py` makes
sure only one process owns it per database, `tables.py` holds their tables.
"""

from market.trading.service import Clock, TradingService, epoch_ms

__all__ = ["Clock", "TradingService", "epoch_ms"]
