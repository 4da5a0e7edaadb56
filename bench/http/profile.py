"""Where one bid's time goes: py-spy samples the market server while wrk drives the order mix.

`python -m bench.http.profile [--connections 8] [--seconds 20] [--database-url URL]` seeds a
market (SQLite in a temporary folder by default), serves it, runs `orders.lua` (with `--batch N`,
`batch.lua` at N orders per request) and records the server with `py-spy record --format raw`:
collapsed stacks, each under its thread's name, idle threads left out unless `--idle`. It prints
the functions with the most samples (inclusive and self) and the share of wall time spent inside
the engine lock (`OrderDesk.transaction` minus its after-commit publication; with `--idle` that
includes the engine thread's waits inside it).
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.http.run import _free_port, _market_env, drive, ensure_wrk, seed, serving

WATCHED = {
    # The engine thread's batch (or a job replayed alone) runs under the engine lock.
    "lock section": "_run_batch (market/trading/desk.py",
    "job replayed alone": "_run_alone (market/trading/desk.py",
    "after-commit publication": "_publish_after_commit",
    "authentication": "authenticate (",
    "commit": "commit (",
    "engine apply": "apply (matching",
    "outbox publication": "publish_pending",
}


def _in_lock(frames: list[str]) -> bool:
    """Inside the engine lock: below the sequencer's batch (or a job run alone), not waiting to
    acquire it (that frame itself as the leaf) and not in its after-commit publication."""
    markers = (WATCHED["lock section"], WATCHED["job replayed alone"])
    at = next((i for i, f in enumerate(frames) if any(m in f for m in markers)), None)
    if at is None or at == len(frames) - 1:
        return False
    return not any("_publish_after_commit" in f for f in frames[at:])


def _summarize(raw: Path, seconds: float, rate: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    watched: Counter[str] = Counter()
    locked: Counter[str] = Counter()
    in_lock = 0
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
        for name, needle in WATCHED.items():
            if any(needle in f for f in frames):
                watched[name] += count
        if _in_lock(frames):
            in_lock += count
            for frame in set(frames):
                if "market/" in frame or "matching/" in frame or "sqlalchemy/" in frame:
                    locked[frame] += count
    wall = seconds * rate
    out = [
        f"samples (non-idle, all threads): {total}; wall samples per thread: {wall:.0f}",
        f"engine lock held: {in_lock} samples = {100 * in_lock / wall:.0f}% of wall time",
        "",
        "watched (inclusive samples, % of non-idle):",
    ]
    out += [f"  {n}: {c} ({100 * c / total:.1f}%)" for n, c in watched.most_common()]
    out += ["", "inside the engine lock (inclusive samples, % of lock-held samples):"]
    out += [f"  {c:6d} {100 * c / max(in_lock, 1):5.1f}%  {f}" for f, c in locked.most_common(40)]
    out += ["", "top inclusive:"]
    out += [f"  {c:6d} {100 * c / total:5.1f}%  {f}" for f, c in inclusive.most_common(30)]
    out += ["", "top self:"]
    out += [f"  {c:6d} {100 * c / total:5.1f}%  {f}" for f, c in own.most_common(25)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http.profile", description=__doc__)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--gil",
        action="store_true",
        help="sample only the thread holding the GIL: where CPU goes, not who waits for it",
    )
    parser.add_argument(
        "--idle",
        action="store_true",
        help="also sample waiting threads: who waits, and on what",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="drive POST /orders/batch with this many orders per request (batch.lua) instead",
    )
    parser.add_argument("--keep", type=Path, default=None, help="copy py-spy's raw output here")
    arguments = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="bench-http-profile-") as tmp:
        folder = Path(tmp)
        url = arguments.database_url or f"sqlite:///{folder / 'market.db'}"
        env = _market_env(folder, url)
        seed_path = folder / "seed.txt"
        seed(env, seed_path, buyers=200, sellers=10, per_category=10)
        port = _free_port()
        command = [sys.executable, "-m", "datamarket", "serve", "--port", str(port)]
        with serving(command, env, port, folder / "market.log") as base:
            pid = _server_pid(port)
            load = {"BENCH_SEED": str(seed_path), "BENCH_ACKS": str(folder / "acks.txt")}
            if arguments.batch:
                load |= {"BENCH_BATCH": str(arguments.batch), "BENCH_RUN": "profile"}
            script = "batch.lua" if arguments.batch else "orders.lua"
            figures: dict[str, object] = {}
            driver = threading.Thread(
                target=lambda: figures.update(
                    drive(
                        wrk,
                        script,
                        base,
                        connections=arguments.connections,
                        seconds=arguments.seconds + 4,
                        env=load,
                    )
                )
            )
            driver.start()
            raw = folder / "profile.txt"
            subprocess.run(
                [
                    spy,
                    "record",
                    "-p",
                    str(pid),
                    "-d",
                    str(arguments.seconds),
                    "-r",
                    str(arguments.rate),
                    "-f",
                    "raw",
                    "-o",
                    str(raw),
                    "--nonblocking",
                    *(["--gil"] if arguments.gil else []),
                    *(["--idle"] if arguments.idle else []),
                    "--threads",
                ],
                check=True,
                capture_output=True,
            )
            driver.join()
        if arguments.keep is not None:
            shutil.copyfile(raw, arguments.keep)
        print(f"wrk c={arguments.connections}: {figures}")
        print(_summarize(raw, arguments.seconds, arguments.rate))


def _server_pid(port: int) -> int:
    """The process listening on the port (the server, not its launcher)."""
    found = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return int(found.split("pid=")[1].split(",")[0])


if __name__ == "__main__":
    main()
