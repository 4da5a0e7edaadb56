"""The command line, run as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATAMARKET_DATA_DIR": str(cwd / "var"), "COLUMNS": "200"}
    env.pop("DATAMARKET_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "datamarket", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_seeds_trades_and_saves_keys(tmp_path: Path) -> None:
    result = run_cli("demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "7 trades" in result.stdout
    assert "匿名加工情報" in result.stdout
    keys = (tmp_path / "var" / "demo-keys.json").read_text()
    assert '"operator": "dm_' in keys
    assert (tmp_path / "var" / "demo-keys.json").stat().st_mode & 0o077 == 0


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "demo", "migrate", "create-operator", "bench"):
        assert command in result.stdout
