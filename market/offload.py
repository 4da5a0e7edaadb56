"""CPU-heavy pure work in a worker process, so it never holds the serving process's GIL.

Parsing, scanning and scoring a large upload with pandas holds the GIL for long stretches of C
code; run in the serving process, even a threadpool worker stalls every other request (the
/health probe waited 0.4 s at a time). Work on inputs above `OFFLOAD_BYTES` goes to one
long-lived worker process; small inputs, whose work takes milliseconds, stay in the caller's
thread, where starting or feeding a process would cost more than it saves.
"""

import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
OFFLOAD_BYTES = 64 << 10

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _exit_with_parent() -> None:
    """In the worker: end this process as soon as the process that started it is gone.

    A server killed by a signal runs no clean-up, and a pool worker would otherwise wait on its
    queue forever.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn: the worker is a child of the server and inherits none of its threads or
            # open connections.
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=_exit_with_parent
            )
        return _pool


def shutdown() -> None:
    """Stop the worker process (the next heavy job starts a new one)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def run_heavy(size: int, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `work(*args, **kwargs)` in the worker process when `size` bytes make it heavy.

    `work` must be a module-level function whose arguments and result pickle; its exceptions
    are raised here as they were raised there.
    """
    if size < OFFLOAD_BYTES:
        return work(*args, **kwargs)
    return _worker_pool().submit(work, *args, **kwargs).result()
