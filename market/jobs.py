"""Running anonymization jobs in the background, one at a time, with progress recorded."""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from sqlalchemy import Engine as DbEngine
from sqlalchemy import update
from sqlmodel import Session, col, select

from market import anonymization, db
from market.errors import MarketError, NotFound
from market.models import AnonymizationJob, Dataset, new_id, utcnow
from market.revisions.service import current_blob_id
from market.storage import BlobStore

log = logging.getLogger("datamarket.jobs")


class JobProgress:
    """Records a running job's state and progress in its own short transactions."""

    STAGES: ClassVar[dict[str, tuple[int, int]]] = {
        "prepare": (0, 10),
        "verify": (90, 95),
        "report": (95, 100),
    }
    SEARCH: ClassVar[tuple[int, int]] = (10, 90)
    MIN_INTERVAL_SECONDS = 0.5

    def __init__(self, engine: DbEngine, job_id: str) -> None:
        self._engine = engine
        self._job_id = job_id
        self._percent = 0
        self._last_write = 0.0

    def _update(self, **fields: Any) -> AnonymizationJob:
        with db.unit_of_work(self._engine) as session:
            job = _existing_job(session, self._job_id)
            for name, value in fields.items():
                setattr(job, name, value)
            session.add(job)
            return job

    def start(self) -> AnonymizationJob | None:
        """Claim the queued job (a conditional update); None when it is not queued any more.

        Only one worker gets a job however often it was submitted: the update changes the row
        only while it is `queued`, and the worker whose update changed it runs the job.
        """
        with db.unit_of_work(self._engine) as session:
            claimed = session.execute(
                update(AnonymizationJob)
                .where(col(AnonymizationJob.id) == self._job_id)
                .where(col(AnonymizationJob.status) == "queued")
                .values(status="running", progress=0, stage="starting", overrides=[])
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            return session.get(AnonymizationJob, self._job_id)

    def record_overrides(self, overrides: list[dict[str, str | None]]) -> None:
        """Keep where the labels and the detector disagreed, before anything is released."""
        self._update(overrides=overrides)

    def __call__(self, stage: str, fraction: float) -> None:
        """The pipeline's progress callback: map its stage and fraction to an overall percent."""
        low, high = self.STAGES.get(stage, self.SEARCH)
        percent = max(self._percent, int(low + (high - low) * min(max(fraction, 0.0), 1.0)))
        now = time.monotonic()
        if percent > self._percent and now - self._last_write > self.MIN_INTERVAL_SECONDS:
            self._percent, self._last_write = percent, now
            self._update(progress=percent, stage=stage)

    def succeed(self, session: Session, dataset: Dataset) -> None:
        job = _existing_job(session, self._job_id)
        job.status, job.progress, job.stage = "succeeded", 100, "done"
        job.result_dataset_id, job.finished_at = dataset.id, utcnow()
        session.add(job)

    def fail(self, reason: str) -> None:
        self._update(status="failed", stage="failed", error=reason[:2000], finished_at=utcnow())


class AnonymizationRunner:
    """One background worker that runs queued jobs in order."""

    def __init__(
        self, engine: DbEngine, store: BlobStore, after_commit: Callable[[], object]
    ) -> None:
        self._engine = engine
        self._store = store
        self._after_commit = after_commit
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anonymize")

    def submit(self, job_id: str) -> None:
        self._executor.submit(self.run, job_id)

    def wait(self) -> None:
        """Block until every job queued so far has run."""
        self._executor.submit(lambda: None).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def resume(self) -> None:
        """Requeue jobs a stopped process left queued or running."""
        with db.unit_of_work(self._engine) as session:
            unfinished = session.exec(
                select(AnonymizationJob).where(
                    col(AnonymizationJob.status).in_(("queued", "running"))
                )
            ).all()
            for job in unfinished:
                job.status, job.progress = "queued", 0
                session.add(job)
        for job in unfinished:
            self.submit(job.id)

    def run(self, job_id: str) -> None:
        """Run one job: labels resolved against the detector (overrides recorded), pipeline,
        scan of the output, sealed output and new dataset; or a recorded failure."""
        progress = JobProgress(self._engine, job_id)
        try:
            job = progress.start()
            if job is None:
                return
            spec = anonymization.JobSpec.model_validate(job.spec)
            data = anonymization.read_input(self._store.get(self._source_blob(job)))
            resolution = anonymization.resolve(data, spec)
            progress.record_overrides(anonymization.override_records(resolution))
            output = anonymization.run_pipeline(data, spec, resolution, progress)
            self._store_output(job, output, progress)
        except MarketError as exc:
            progress.fail(exc.reason)
        except Exception as exc:
            # The exception text may quote personal data from the input: log its type only.
            log.error("anonymization job %s failed: %s", job_id, type(exc).__name__)
            progress.fail("the job failed on an internal error; the operator has been notified")
        self._after_commit()

    def _source_blob(self, job: AnonymizationJob) -> str:
        """The source dataset's newest revision: the data the job anonymizes."""
        with Session(self._engine) as session:
            source = session.get(Dataset, job.source_dataset_id)
            if source is None:
                raise NotFound(f"dataset {job.source_dataset_id} does not exist")
            return current_blob_id(session=session, dataset=source)

    def _store_output(
        self, job: AnonymizationJob, output: anonymization.AnonymizedCsv, progress: JobProgress
    ) -> None:
        dataset_id = new_id()
        method_id = anonymization.method_object_id(dataset_id)
        self._store.put(dataset_id, output.data)
        self._store.put(method_id, output.confidential_method)
        try:
            with db.unit_of_work(self._engine) as session:
                dataset = anonymization.create_anonymized_dataset(
                    session=session, job=job, dataset_id=dataset_id, output=output
                )
                progress.succeed(session, dataset)
        except BaseException:
            self._store.delete(dataset_id)
            self._store.delete(method_id)
            raise


def _existing_job(session: Session, job_id: str) -> AnonymizationJob:
    job = session.get(AnonymizationJob, job_id)
    if job is None:
        raise NotFound(f"anonymization job {job_id} no longer exists")
    return job
