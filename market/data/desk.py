"""The data desk: uploads, anonymization jobs, column proposals and raw downloads."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from market import anonymization
from market.datasets import (
    analyse_upload,
    create_dataset,
    get_dataset,
    propose_columns,
    require_uploadable,
)
from market.desk import UnitOfWork
from market.errors import Forbidden, NotFound
from market.jobs import AnonymizationRunner
from market.models import AnonymizationJob, Dataset, Participant, new_id, utcnow
from market.offload import run_heavy
from market.quality import DatasetSchema
from market.revisions.service import current_blob_id
from market.settings import Settings
from market.storage import BlobStore


@dataclass(frozen=True, kw_only=True)
class DescribeDataset:
    """What a seller says about an upload: its title, category, data class and columns."""

    title: str
    category: str
    data_class: str
    description: str = ""
    tags: list[str] = field(default_factory=list)
    schema: DatasetSchema | None = None


class DataDesk(UnitOfWork):
    """Datasets and anonymization jobs of one market."""

    def __init__(
        self,
        engine: Engine,
        store: BlobStore,
        settings: Settings,
        jobs: AnonymizationRunner,
        *,
        after_commit: Callable[[], None],
    ) -> None:
        super().__init__(engine, after_commit=after_commit)
        self.store = store
        self.settings = settings
        self.jobs = jobs

    def upload_dataset(self, *, seller: Participant, raw: bytes, about: DescribeDataset) -> Dataset:
        """Validate, encrypt and record a CSV upload; nothing is kept if any step fails.

        The file is parsed, scanned and scored before any transaction begins, in a worker
        process when it is large (market/offload.py).
        """
        require_uploadable(seller=seller, data_class=about.data_class)
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
            data_class=about.data_class,
            schema=about.schema,
            now=utcnow(),
        )
        dataset_id = new_id()
        self.store.put(dataset_id, analysed.parsed.data)
        try:
            return self.transaction(
                lambda s: create_dataset(
                    session=s,
                    dataset_id=dataset_id,
                    seller=seller,
                    analysed=analysed,
                    title=about.title,
                    category=about.category,
                    data_class=about.data_class,
                    description=about.description,
                    tags=about.tags,
                    schema=about.schema,
                )
            )
        except BaseException:
            self.store.delete(dataset_id)
            raise

    def start_anonymization(
        self,
        *,
        seller: Participant,
        dataset_id: str,
        spec: anonymization.JobSpec | dict[str, Any],
    ) -> AnonymizationJob:
        """Queue an anonymization job; it runs in the background (see `job`)."""
        parsed = anonymization.parse_spec(spec)
        job = self.transaction(
            lambda s: anonymization.create_job(
                session=s, seller=seller, dataset_id=dataset_id, spec=parsed
            )
        )
        self.jobs.submit(job.id)
        return job

    def propose_columns(self, *, seller: Participant, dataset_id: str) -> dict[str, dict[str, str]]:
        """The detector's proposed column roles for one of the seller's datasets."""
        _, data = self._newest_bytes(seller=seller, dataset_id=dataset_id)
        return propose_columns(data)

    def public_dataset(self, dataset_id: str) -> Dataset:
        """An anonymized dataset whose public announcement anyone may read."""
        dataset = self.read(lambda s: s.get(Dataset, dataset_id))
        if dataset is None or dataset.data_class != "anonymized":
            raise NotFound(f"no anonymized dataset {dataset_id} has been announced")
        return dataset

    def job(self, *, participant: Participant, job_id: str) -> AnonymizationJob:
        return self.read(
            lambda s: anonymization.get_job(session=s, participant=participant, job_id=job_id)
        )

    def _newest_bytes(self, *, seller: Participant, dataset_id: str) -> tuple[Dataset, bytes]:
        """The newest revision's bytes of a dataset, for its seller only."""
        with Session(self.db) as session:
            dataset = get_dataset(session=session, dataset_id=dataset_id)
            if dataset.seller_id != seller.id:
                raise Forbidden(f"dataset {dataset_id} belongs to another seller")
            blob_id = current_blob_id(session=session, dataset=dataset)
        return dataset, self.store.get(blob_id)
