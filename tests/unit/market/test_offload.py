"""Heavy upload work runs in a worker process that returns results, raises the domain's errors and
never outlives the server that started it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from market import offload
from market.csv_ingest import parse_csv_upload
from market.errors import UploadRejected

ROOT = Path(__file__).resolve().parents[3]
KILLED_SERVER = """
import os, signal
from market import offload
if __name__ == "__main__":
    print(offload.run_heavy(offload.OFFLOAD_BYTES, os.getpid), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_large_work_runs_in_another_process_and_small_work_here() -> None:
    try:
        assert offload.run_heavy(offload.OFFLOAD_BYTES, os.getpid) != os.getpid()
        assert offload.run_heavy(offload.OFFLOAD_BYTES - 1, os.getpid) == os.getpid()
    finally:
        offload.shutdown()


def test_a_refusal_in_the_worker_reaches_the_caller_as_itself() -> None:
    try:
        with pytest.raises(UploadRejected):
            offload.run_heavy(
                offload.OFFLOAD_BYTES, parse_csv_upload, b"\xff\xfe\x00\x01", max_bytes=100
            )
    finally:
        offload.shutdown()


def test_the_worker_ends_when_its_server_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(KILLED_SERVER)
    ran = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    worker = int(ran.stdout.strip())
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)
