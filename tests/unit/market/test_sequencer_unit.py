"""The sequencer's queue on its own: batches, order of answers, and stopping."""

import threading
import time
from typing import Any

import pytest

from market.trading.sequencer import Job, Sequencer


def _answer_all(jobs: list[Job[Any]]) -> None:
    for job in jobs:
        job.future.set_result(job.work(None))  # type: ignore[arg-type]


def test_work_queued_at_once_runs_in_order_and_answers_each_caller() -> None:
    sequencer = Sequencer(_answer_all, max_batch=3)
    sequencer.start()
    try:
        futures = sequencer.run_many([lambda _, n=n: n * n for n in range(7)])
        assert [f.result(timeout=5) for f in futures] == [n * n for n in range(7)]
        assert sequencer.jobs == 7 and sequencer.batches >= 3  # at most 3 a batch
    finally:
        sequencer.stop()


def test_work_queued_behind_a_stop_is_refused_not_left_waiting() -> None:
    busy, release = threading.Event(), threading.Event()

    def slow(jobs: list[Job[Any]]) -> None:
        busy.set()
        release.wait(5)
        _answer_all(jobs)

    sequencer = Sequencer(slow)
    sequencer.start()
    first = sequencer.run_many([lambda _: "first"])[0]
    assert busy.wait(5)
    stopper = threading.Thread(target=sequencer.stop)
    stopper.start()
    time.sleep(0.05)  # the stop's sentinel is queued now
    late: Job[str] = Job(lambda _: "late")
    sequencer._queue.put(late)
    release.set()
    stopper.join(5)
    assert first.result(timeout=5) == "first"
    with pytest.raises(RuntimeError, match="stopped before this work ran"):
        late.future.result(timeout=5)
    with pytest.raises(RuntimeError, match="not running"):
        sequencer.run(lambda _: None)


class _Gate:
    """A batch runner that records each batch's weights and holds the first until released."""

    def __init__(self) -> None:
        self.seen: list[list[int]] = []
        self.busy, self.release = threading.Event(), threading.Event()

    def __call__(self, jobs: list[Job[Any]]) -> None:
        self.seen.append([job.weight for job in jobs])
        self.busy.set()
        self.release.wait(5)
        _answer_all(jobs)


def _held_batches(weights: list[int], max_batch: int) -> list[list[int]]:
    """The weights of each batch when every job is queued while the first batch runs."""
    gate = _Gate()
    sequencer = Sequencer(gate, max_batch=max_batch)
    sequencer.start()
    try:
        first = sequencer.run_many([lambda _: "first"])[0]
        assert gate.busy.wait(5)
        futures = []
        for n, weight in enumerate(weights):
            job: Job[int] = Job(lambda _, n=n: n, weight=weight)
            sequencer._queue.put(job)
            futures.append(job.future)
        gate.release.set()
        assert first.result(timeout=5) == "first"
        assert [f.result(timeout=5) for f in futures] == list(range(len(weights)))
    finally:
        sequencer.stop()
    return gate.seen[1:]


def test_a_batch_holds_at_most_max_batch_orders_and_a_heavier_job_runs_alone() -> None:
    # Bulk requests of 100 orders: two a batch under 256, not all of them in one transaction.
    assert _held_batches([100] * 5, max_batch=256) == [[100, 100], [100, 100], [100]]
    # Single orders fill a batch up to the limit; a job over it runs alone, in queue order.
    assert _held_batches([1, 1, 1, 1000, 1, 1], max_batch=3) == [[1, 1, 1], [1000], [1, 1]]
    assert _held_batches([1] * 7, max_batch=256) == [[1] * 7]


def test_a_job_carried_to_the_next_batch_is_still_answered_when_the_market_stops() -> None:
    gate = _Gate()
    sequencer = Sequencer(gate, max_batch=10)
    sequencer.start()
    first = sequencer.run_many([lambda _: "first"])[0]
    assert gate.busy.wait(5)
    light: Job[str] = Job(lambda _: "light", weight=6)
    heavy: Job[str] = Job(lambda _: "heavy", weight=6)
    sequencer._queue.put(light)
    sequencer._queue.put(heavy)
    stopper = threading.Thread(target=sequencer.stop)
    stopper.start()
    time.sleep(0.05)  # the stop's sentinel is queued behind both
    gate.release.set()
    stopper.join(5)
    assert (first.result(timeout=5), light.future.result(timeout=5)) == ("first", "light")
    assert heavy.future.result(timeout=5) == "heavy"
    assert gate.seen == [[1], [6], [6]]
