"""`datamarket demo` and `serve --demo`: seeded once, every key saved and working, next steps runnable."""

import json
import sqlite3
import subprocess
from pathlib import Path

import httpx

from tests.e2e.demo_server import serving_demo
from tests.e2e.test_cli import run_cli

DEMO_PARTICIPANTS = 8  # the operator, three sensor sellers, the clinic, three buyers


def _counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "market.db") as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("participant", "dataset", "listing", "bid", "trade", "apikey")
        }


def _saved_keys(data_dir: Path) -> dict[str, str]:
    saved = json.loads((data_dir / "demo-keys.json").read_text())
    return {"operator": saved["operator"], **saved["sellers"], **saved["buyers"]}


def test_a_second_demo_run_changes_nothing_and_keeps_every_key(tmp_path: Path) -> None:
    first = run_cli("demo", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    data_dir = tmp_path / "var"
    seeded, keys = _counts(data_dir), _saved_keys(data_dir)

    second = run_cli("demo", cwd=tmp_path)

    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout
    assert _counts(data_dir) == seeded
    assert seeded["participant"] == DEMO_PARTICIPANTS
    assert _saved_keys(data_dir) == keys
    assert len(keys) == DEMO_PARTICIPANTS
    assert "みなと健診クリニック" in keys
    assert (data_dir / "demo-keys.json").stat().st_mode & 0o077 == 0


def test_a_lost_key_is_reissued_without_a_new_participant(tmp_path: Path) -> None:
    assert run_cli("demo", cwd=tmp_path).returncode == 0
    data_dir = tmp_path / "var"
    path = data_dir / "demo-keys.json"
    saved = json.loads(path.read_text())
    lost = saved["sellers"].pop("みなと健診クリニック")
    path.write_text(json.dumps(saved, ensure_ascii=False))
    before = _counts(data_dir)

    again = run_cli("demo", cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    after = _counts(data_dir)
    assert after == {**before, "apikey": before["apikey"] + 1}
    reissued = _saved_keys(data_dir)["みなと健診クリニック"]
    assert reissued.startswith("dm_") and reissued != lost


def test_serve_demo_prints_next_steps_that_work_as_printed(tmp_path: Path) -> None:
    # As `make run` does: the default data folder `var` under the working directory.
    assert run_cli("demo", cwd=tmp_path).returncode == 0
    out = tmp_path / "serve.out"
    with serving_demo(tmp_path, out, timeout=60) as base:
        printed = out.read_text()
        assert "already seeded" in printed
        steps = printed.split(f"Next steps, once the market serves {base}:\n", 1)[1]
        steps = steps.split("Market on ", 1)[0]
        assert "var/demo-keys.json" in steps and "/download" in steps

        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", steps],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

        assert ran.returncode == 0, ran.stderr
        assert (tmp_path / "demo-anonymized.csv").read_text(encoding="utf-8-sig").count("\n") > 1
        for name, key in _saved_keys(tmp_path / "var").items():
            me = httpx.get(f"{base}/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200, name
            assert me.json()["name"] == ("Market Operations" if name == "operator" else name)
    assert _counts(tmp_path / "var")["participant"] == DEMO_PARTICIPANTS
