"""Revisions as use cases: analyse a new version outside any transaction, then record it, re-score
and requote the dataset's open asks in one trading unit of work."""

from typing import Any

from sqlmodel import Session

from market import db
from market.catalog import visible_dataset
from market.datasets import analyse_upload, get_dataset
from market.models import Listing, Participant, new_id, utcnow
from market.offload import run_heavy
from market.quality.assess import parse_schema
from market.ratings.service import requote
from market.ratings.unit import apply_commands
from market.revisions.service import (
    add_revision,
    revisable_dataset,
    revisions_for,
    revisions_of,
    set_coverage,
)
from market.settings import Settings
from market.storage import BlobStore
from market.trading.desk import OrderDesk

# A new revision's bytes are stored as "revision-<DatasetRevision.id>": a shape the orphan sweep
# does not claim until market/orphans.py's REFERRERS name it (Referrer("datasetrevision", "id",
# "revision-")).
BLOB_PREFIX = "revision-"


class RevisionsDesk:
    """Publish, list and fetch dataset revisions."""

    def __init__(self, orders: OrderDesk, store: BlobStore, settings: Settings) -> None:
        self.orders = orders
        self.db = orders.db
        self.store = store
        self.settings = settings

    def publish(
        self, *, seller: Participant, dataset_id: str, raw: bytes, note: str = ""
    ) -> dict[str, Any]:
        """A new revision of the seller's dataset; nothing is kept if any step fails."""
        with Session(self.db) as session:
            dataset = revisable_dataset(session=session, seller=seller, dataset_id=dataset_id)
            declared = dataset.data_schema
            data_class = dataset.data_class
        caps = {
            "max_bytes": self.settings.max_upload_bytes,
            "max_columns": self.settings.max_csv_columns,
            "max_header_bytes": self.settings.max_csv_header_bytes,
            "max_cell_chars": self.settings.max_csv_cell_chars,
        }
        analysed = run_heavy(
            len(raw),
            analyse_upload,
            raw,
            caps=caps,
            data_class=data_class,
            schema=parse_schema(declared) if declared is not None else None,
            now=utcnow(),
        )
        revision_id = new_id()
        blob_id = f"{BLOB_PREFIX}{revision_id}"
        self.store.put(blob_id, analysed.parsed.data)

        def work(session: Session) -> dict[str, Any]:
            _, dataset = add_revision(
                session=session,
                seller=seller,
                dataset_id=dataset_id,
                revision_id=revision_id,
                blob_id=blob_id,
                analysed=analysed,
                note=note,
            )
            apply_commands(self.orders, session, requote(session=session, datasets=[dataset]))
            newest = revisions_of(session=session, dataset=dataset)[-1]
            return {"dataset_id": dataset.id, **newest, "downloadable": True, "your_licences": []}

        try:
            published = self.orders.transaction(work)
        except BaseException:
            self.store.delete(blob_id)
            raise
        return published

    def revisions(self, *, viewer: Participant, dataset_id: str) -> list[dict[str, Any]]:
        """A dataset's revisions, for whoever may see the dataset, each with the viewer's live
        licences that cover it (its seller may download every one)."""
        with Session(self.db) as session:
            visible_dataset(session=session, viewer=viewer, dataset_id=dataset_id)
            dataset = get_dataset(session=session, dataset_id=dataset_id)
            return revisions_for(session=session, viewer=viewer, dataset=dataset, now=utcnow())

    def set_coverage(self, *, seller: Participant, listing_id: str, covers: str) -> Listing:
        """State which revisions a listing's licences cover (before it sells any)."""
        with db.unit_of_work(self.db) as session:
            listing = set_coverage(
                session=session, seller=seller, listing_id=listing_id, covers=covers
            )
        self.orders.after_commit()
        return listing
