"""CPU-heavy pure work in a worker process, so it never holds the serving process's GIL.

Parsing, scanning and scoring a large upload with pandas holds the GIL for long stretches of C
code; run in the serving process, even a threadpool worker stalls every other request (the
/health probe waited 0.4 s at a time). Work on inputs above `OFFLOAD_BYTES` goes to one
long-lived worker process; small inputs, whose work takes milliseconds, stay in the caller's
thread, where starting or feeding a process would cost more than it saves.
"""

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
OFFLOAD_BYTES = 64 << 10

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _worker_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: the worker never inherits the server's threads or open connections.
            context = multiprocessing.get_context("forkserver")
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return _pool


def run_heavy(size: int, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `work(*args, **kwargs)` in the worker process when `size` bytes make it heavy.

    `work` must be a module-level function whose arguments and result pickle; its exceptions
    are raised here as they were raised there.
    """
    if size < OFFLOAD_BYTES:
        return work(*args, **kwargs)
    return _worker_pool().submit(work, *args, **kwargs).result()
