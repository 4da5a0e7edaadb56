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
