"""Delivery's entry points: copies for download, signed download URLs and the trace of a leak.

`Market` builds one `DeliveryDesk`; the desk opens sessions around the rules of this package
and owns none of its own. Nothing here writes to the database, so `trace` runs beside a live
market without taking its engine.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from market.datasets import get_dataset
from market.delivery import urls
from market.delivery.copies import copy_chunks, formula_cell_count
from market.delivery.fingerprint import licence_key, read_leak
from market.delivery.rights import Grant, delivery_grant, licence_grant
from market.delivery.tracing import Trace, trace_leak
from market.models import Dataset, Licence, Participant, utcnow
from market.settings import Settings
from market.storage import BlobStore


@dataclass(frozen=True)
class Delivery:
    """One copy of one revision on its way: the original for the seller, a fingerprinted one
    for a licence."""

    dataset: Dataset
    revision: int
    licence: Licence | None
    formula_cells: int
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class SignedDownload:
    token: str
    revision: int
    expires_at: datetime


class DeliveryDesk:
    def __init__(
        self,
        engine: Engine,
        store: BlobStore,
        settings: Settings,
        *,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = engine
        self.store = store
        self.now = now
        self.master_keys = (
            settings.resolved_master_key(),
            *settings.resolved_previous_master_keys(),
        )
        self.url_keys = tuple(urls.url_key(key) for key in self.master_keys)

    def deliver(
        self,
        *,
        participant: Participant,
        dataset_id: str,
        revision: int | None = None,
        excel_safe: bool = False,
    ) -> Delivery:
        """Revision `revision` of the dataset (default: the newest the caller may have) for its
        seller (as stored) or a licence holder whose licence covers it (its licence's copy)."""
        with Session(self.db) as session:
            dataset = get_dataset(session=session, dataset_id=dataset_id)
            grant = delivery_grant(
                session=session,
                participant=participant,
                dataset=dataset,
                number=revision,
                now=self.now(),
            )
        return self._copy(grant, excel_safe=excel_safe)

    def download_url(
        self, *, buyer: Participant, licence_id: str, revision: int | None = None
    ) -> SignedDownload:
        """A token for one revision (default: the newest the licence covers) under one of the
        buyer's live licences, valid for `urls.VALID_SECONDS`."""
        with Session(self.db) as session:
            grant = licence_grant(
                session=session,
                participant=buyer,
                licence_id=licence_id,
                number=revision,
                now=self.now(),
            )
        number = grant.revision.number
        expires = int(self.now().timestamp()) + urls.VALID_SECONDS
        token = urls.sign(
            self.url_keys[0],
            licence_id=licence_id,
            revision=number,
            buyer_id=buyer.id,
            expires=expires,
        )
        return SignedDownload(token, number, datetime.fromtimestamp(expires, UTC))

    def redeem(self, *, participant: Participant, token: str, excel_safe: bool = False) -> Delivery:
        """The revision a signed token grants, to the buyer it was made for, while its licence
        lives and covers that revision."""
        now = self.now()
        granted = urls.open_token(
            self.url_keys, token, buyer_id=participant.id, now=int(now.timestamp())
        )
        with Session(self.db) as session:
            grant = licence_grant(
                session=session,
                participant=participant,
                licence_id=granted.licence_id,
                number=granted.revision,
                now=now,
            )
        return self._copy(grant, excel_safe=excel_safe)

    def _copy(self, grant: Grant, *, excel_safe: bool) -> Delivery:
        blob, columns, licence = grant.revision.blob_id, grant.revision.columns, grant.licence
        formulas = 0 if excel_safe else formula_cell_count(self.store.stream(blob), columns)
        chunks: Iterator[bytes]
        if licence is None and not excel_safe:
            chunks = self.store.stream(blob)
        else:
            key = None if licence is None else licence_key(self.master_keys[0], licence.id)
            chunks = copy_chunks(self.store.stream(blob), columns, key=key, excel_safe=excel_safe)
        return Delivery(grant.dataset, grant.revision.number, licence, formulas, chunks)

    def trace(self, raw: bytes) -> Trace:
        """Which licences' fingerprints a leaked CSV carries (none: it came from no licence)."""
        leak = read_leak(raw)
        with Session(self.db) as session:
            return trace_leak(session=session, master_keys=self.master_keys, leak=leak)
