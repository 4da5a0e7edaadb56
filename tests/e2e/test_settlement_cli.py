"""`datamarket settlement check` and `reconcile`, run as an operator runs them."""

import sqlite3
from pathlib import Path

from tests.e2e.test_cli import run_cli


def test_the_demo_books_check_and_reconcile_and_a_broken_invoice_is_named(
    tmp_path: Path,
) -> None:
    assert run_cli("demo", cwd=tmp_path).returncode == 0
    check = run_cli("settlement", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith("0 problems")
    clean = run_cli("settlement", "reconcile", cwd=tmp_path)
    assert clean.returncode == 0 and clean.stdout.strip() == "0 mismatches"

    with sqlite3.connect(tmp_path / "var" / "market.db") as db:
        (invoice_id,) = db.execute("SELECT id FROM invoice WHERE status = 'issued'").fetchone()
        db.execute("UPDATE invoice SET status = 'paid' WHERE id = ?", (invoice_id,))
        db.execute(
            "UPDATE ledgerentry SET debit_yen = debit_yen + 1 WHERE id = "
            "(SELECT MIN(id) FROM ledgerentry)"
        )
    broken = run_cli("settlement", "reconcile", cwd=tmp_path)
    assert broken.returncode == 1
    assert f"state_mismatch: {invoice_id}: paid, but the ledger has no payment" in broken.stdout
    faults = run_cli("settlement", "check", cwd=tmp_path)
    assert faults.returncode == 1
    assert "trial balance sums to 1 yen" in faults.stdout and "is unbalanced" in faults.stdout


def test_without_a_market_database_both_exit_2_with_the_reason_and_create_nothing(
    tmp_path: Path,
) -> None:
    for command in ("check", "reconcile"):
        missing = run_cli("settlement", command, cwd=tmp_path)
        assert missing.returncode == 2, missing.stdout + missing.stderr
        assert "no market database at" in missing.stderr and "Traceback" not in missing.stderr
    assert not (tmp_path / "var").exists()

    (tmp_path / "var").mkdir()
    sqlite3.connect(tmp_path / "var" / "market.db").close()  # a file, but no market tables
    empty = run_cli("settlement", "check", cwd=tmp_path)
    assert empty.returncode == 2 and "holds no market tables" in empty.stderr
    with sqlite3.connect(tmp_path / "var" / "market.db") as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert tables == []
