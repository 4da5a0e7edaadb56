"""The sequencer: one engine thread applies queued trading work in batches, with one commit each.

Request threads hand a unit of trading work to `Sequencer.run` and wait for its answer. The
engine thread takes whatever is queued, up to `max_batch` orders (a job weighs the orders it
carries: one, or a bulk request's count), runs it through `run_batch` and answers every waiting
caller only after the batch committed (group commit, in the style of the LMAX disruptor and
exchange-core). Under light load a batch holds one request, so nothing waits for a batch to
fill; under heavy load many requests share one transaction and one fsync. The weight bounds
what one commit waits for: 64 bulk requests of 100 orders each commit two or three at a time,
not 6,400 orders in one transaction that answers nobody until its end. A job heavier than
`max_batch` runs alone.
"""

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlmodel import Session

T = TypeVar("T")
log = logging.getLogger("datamarket.sequencer")


@dataclass
class Job(Generic[T]):
    """One caller's trading work and the future its answer goes to."""

    work: Callable[[Session], T]
    future: "Future[T]" = field(default_factory=Future)
    # The orders the work carries, counted against the batch's `max_batch`.
    weight: int = 1


class Sequencer:
    """A queue in front of the engine, drained by one thread in batches."""

    def __init__(
        self,
        run_batch: Callable[[list[Job[Any]]], None],
        *,
        max_batch: int = 256,
        name: str = "engine-sequencer",
    ) -> None:
        self._run_batch = run_batch
        self.max_batch = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # A job taken from the queue that did not fit its batch: the first of the next one.
        self._carried: Job[Any] | None = None
        # Figures for tests and benchmarks: how many batches ran and how many jobs they held.
        self.batches = 0
        self.jobs = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def in_engine_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._drain, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Answer everything already queued, then end the engine thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join()
        self._thread = None
        # Work queued after the stop was asked for would otherwise wait forever.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job.future.done():
                job.future.set_exception(RuntimeError("the market stopped before this work ran"))

    def run(self, work: Callable[[Session], T], *, weight: int = 1) -> T:
        """Queue `work` and wait for its answer (its result, or the exception it raised);
        `weight` is the number of orders it carries."""
        if self._thread is None:
            raise RuntimeError("the sequencer is not running: call Market.start() to trade")
        if self.in_engine_thread():
            raise RuntimeError(
                "trading work cannot queue more trading work (it would wait forever)"
            )
        job: Job[T] = Job(work, weight=max(1, weight))
        self._queue.put(job)
        return job.future.result()

    def submit(self, work: Callable[[Session], T]) -> "Future[T]":
        """Queue `work` without waiting: an async caller awaits the future
        (`asyncio.wrap_future`) instead of holding a threadpool thread."""
        futures = self.run_many([work])
        return futures[0]

    def run_many(self, works: list[Callable[[Session], Any]]) -> list["Future[Any]"]:
        """Queue every one of `works` at once; their futures answer in the same order."""
        if self._thread is None:
            raise RuntimeError("the sequencer is not running: call Market.start() to trade")
        if self.in_engine_thread():
            raise RuntimeError(
                "trading work cannot queue more trading work (it would wait forever)"
            )
        jobs: list[Job[Any]] = [Job(work) for work in works]
        for job in jobs:
            self._queue.put(job)
        return [job.future for job in jobs]

    def _drain(self) -> None:
        while True:
            first = self._carried if self._carried is not None else self._queue.get()
            self._carried = None
            if first is None:
                return
            batch: list[Job[Any]] = [first]
            weight = first.weight
            stopping = False
            while weight < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                if weight + item.weight > self.max_batch:
                    self._carried = item
                    break
                batch.append(item)
                weight += item.weight
            self.batches += 1
            self.jobs += len(batch)
            try:
                self._run_batch(batch)
            except BaseException as exc:  # the batch runner answers its jobs; this is a last guard
                log.error("trading batch failed: %s", type(exc).__name__)
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
            if stopping:
                return
