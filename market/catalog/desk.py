"""The catalog desk: find listings, show one in full, and let a seller describe a dataset."""

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from market import db
from market.catalog.activity import depth, last_trade
from market.catalog.indexing import entry_values
from market.catalog.metadata import ListingMetadata, column_dictionary
from market.catalog.preview import real_rows, synthetic_rows
from market.catalog.search import ListingFilter, listing_rows
from market.catalog.tables import CatalogEntry
from market.catalog.views import entry_details, listing_row, listing_view
from market.errors import Forbidden, InvalidRequest, NotFound
from market.models import Dataset, Participant
from market.paging import Page
from market.revisions.service import current_blob_id
from market.storage import BlobStore


class UnknownColumns(InvalidRequest):
    title = "Columns not in the dataset"


def find_listings(
    *,
    session: Session,
    viewer: Participant,
    where: ListingFilter,
    sort: str = "recency",
    cursor: str | None = None,
    limit: int = 100,
) -> Page[dict[str, Any]]:
    """Listings matching the filter in the sort order, as the viewer may see them (JSON-ready:
    `market.catalog.views`)."""
    page = listing_rows(
        session=session, viewer=viewer, where=where, sort=sort, cursor=cursor, limit=limit
    )
    return Page([listing_view(row, viewer_id=viewer.id) for row in page.items], page.next_cursor)


class CatalogDesk:
    """Discovery for buyers and listing metadata for sellers, over the market's database."""

    def __init__(self, engine: Engine, store: BlobStore) -> None:
        self.engine = engine
        self.store = store

    def listings(
        self,
        *,
        viewer: Participant,
        where: ListingFilter,
        sort: str = "recency",
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page[dict[str, Any]]:
        with Session(self.engine) as session:
            return find_listings(
                session=session, viewer=viewer, where=where, sort=sort, cursor=cursor, limit=limit
            )

    def listing_detail(self, *, viewer: Participant, listing_id: str) -> dict[str, Any]:
        """A listing in full: the list item plus its column dictionary, a sample preview, and
        its instrument's last trade and depth."""
        with Session(self.engine) as session:
            row = listing_row(session, listing_id, col(Dataset.data_schema))
            view = listing_view(row, viewer_id=viewer.id)
            dictionary = column_dictionary(
                view["columns"], row.data_schema, entry_details(row.details).stored
            )
            view |= {
                "column_dictionary": dictionary,
                "last_trade": last_trade(session=session, instrument=row.instrument),
                "depth": depth(session=session, instrument=row.instrument),
            }
            # Real rows are shown of non-personal data only, from its newest revision.
            dataset = session.get(Dataset, row.dataset_id)
            blob_id = (
                current_blob_id(session=session, dataset=dataset)
                if dataset is not None and row.data_class == "non_personal"
                else None
            )
        view["sample"] = self._sample(row.dataset_id, blob_id, dictionary)
        return view

    def _sample(
        self, dataset_id: str, blob_id: str | None, dictionary: list[dict[str, Any]]
    ) -> dict[str, Any]:
        columns = [column["name"] for column in dictionary]
        if blob_id is not None:
            rows = real_rows(self.store.stream(blob_id))
            return {"kind": "real", "columns": columns, "rows": rows}
        return {
            "kind": "synthetic",
            "columns": columns,
            "rows": synthetic_rows(dictionary, dataset_id),
        }

    def set_metadata(
        self, *, seller: Participant, dataset_id: str, metadata: ListingMetadata
    ) -> dict[str, Any]:
        """Replace a dataset's listing metadata (its seller only); the search text follows."""
        with db.unit_of_work(self.engine) as session:
            dataset = session.get(Dataset, dataset_id)
            if dataset is None:
                raise NotFound(f"dataset {dataset_id} does not exist")
            if dataset.seller_id != seller.id:
                raise Forbidden(f"dataset {dataset_id} belongs to another seller")
            unknown = metadata.unknown_columns(dataset)
            if unknown:
                raise UnknownColumns(
                    f"the dataset has no column {', '.join(repr(n[:60]) for n in unknown[:5])}; "
                    f"describe only its columns: {', '.join(dataset.columns[:50])}"
                )
            changes = {
                name: value
                for name, value in (
                    ("title", metadata.title),
                    ("description", metadata.description),
                    ("tags", metadata.tags),
                )
                if value is not None
            }
            for name, value in changes.items():
                setattr(dataset, name, value)
            session.flush()
            entry = _entry_of(session, dataset.id) or CatalogEntry(dataset_id=dataset.id)
            details = metadata.stored()
            for name, value in (entry_values(dataset, details) | {"details": details}).items():
                setattr(entry, name, value)
            session.add(entry)
            return self.metadata_view(dataset, entry)

    def metadata_of(self, *, viewer: Participant, dataset_id: str) -> dict[str, Any]:
        """A dataset's listing metadata, for its seller."""
        with Session(self.engine) as session:
            dataset = session.get(Dataset, dataset_id)
            if dataset is None:
                raise NotFound(f"dataset {dataset_id} does not exist")
            if dataset.seller_id != viewer.id:
                raise Forbidden(f"dataset {dataset_id} belongs to another seller")
            return self.metadata_view(dataset, _entry_of(session, dataset.id))

    @staticmethod
    def metadata_view(dataset: Dataset, entry: CatalogEntry | None) -> dict[str, Any]:
        details = (entry.details if entry is not None else None) or {}
        return {
            "dataset_id": dataset.id,
            "title": dataset.title,
            "description": dataset.description,
            "tags": dataset.tags,
            "columns": details.get("columns", []),
            "coverage": details.get("coverage"),
            "update_frequency": entry.update_frequency if entry is not None else None,
            "licence": details.get("licence"),
            "column_dictionary": column_dictionary(dataset.columns, dataset.data_schema, details),
        }


def _entry_of(session: Session, dataset_id: str) -> CatalogEntry | None:
    return session.exec(
        select(CatalogEntry).where(col(CatalogEntry.dataset_id) == dataset_id)
    ).first()
