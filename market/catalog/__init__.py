"""The catalog: listing metadata, discovery (search, filters, sort, pages) and listing views.

`tables.py` holds the catalog entry per dataset, `indexing.py` keeps its search text in step,
`metadata.py` what a seller declares, `search.py` the queries, `views.py` what a viewer sees,
`preview.py` sample rows, `activity.py` last trade and depth, `desk.py` the use cases.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from market.catalog.desk import CatalogDesk, find_listings
    from market.catalog.search import ListingFilter
    from market.catalog.views import get_listing, listing_view, visible_dataset

# Imported on first use: market/models.py imports `market.catalog.tables` while the models are
# still being defined, and the desk and views need the models (a cycle if imported here).
_EXPORTS = {
    "CatalogDesk": "market.catalog.desk",
    "find_listings": "market.catalog.desk",
    "ListingFilter": "market.catalog.search",
    "get_listing": "market.catalog.views",
    "listing_view": "market.catalog.views",
    "visible_dataset": "market.catalog.views",
}
__all__ = [
    "CatalogDesk",
    "ListingFilter",
    "find_listings",
    "get_listing",
    "listing_view",
    "visible_dataset",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'market.catalog' has no attribute {name!r}")
    return getattr(import_module(module), name)
