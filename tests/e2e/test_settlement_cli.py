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
