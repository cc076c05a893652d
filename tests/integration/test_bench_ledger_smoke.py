"""bench/ledger.py at tiny sizes: it posts, its trial balances match what it planted, and it
prints the side-by-side ratios when python-accounting is installed (`make bench-deps`).

The bench exits non-zero when any trial balance (ours, python-accounting's, hledger's) differs
from the balances its generator planted, so a zero exit is itself the check at scale.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ledger.py"
TINY = ["--repeat", "1", "--tb-repeat", "1", "--hledger-repeat", "1"]


def run_bench(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--db-dir", str(tmp_path), *TINY, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_our_ledger_posts_and_its_trial_balance_matches_what_was_planted(tmp_path: Path):
    out = run_bench(tmp_path, "--lines", "3000", "--accounting-lines", "0")
    assert "retailhub, one run: 3,00" in out
    assert "matches the planted balances: yes" in out
    assert "matches the planted balances: NO" not in out
    assert "python-accounting: skipped (--accounting-lines 0)" in out
    if shutil.which("hledger"):
        assert "hledger balance on the 3,00" in out
        assert "totals equal ours: yes" in out
    else:
        assert "hledger: not installed, skipped" in out


@pytest.mark.skipif(
    importlib.util.find_spec("python_accounting") is None,
    reason="python-accounting is not installed (make bench-deps); the bench skips its side",
)
def test_python_accounting_runs_the_same_entries_and_the_ratios_are_printed(tmp_path: Path):
    out = run_bench(tmp_path, "--lines", "2000", "--accounting-lines", "300")
    assert "python-accounting, one run: 30" in out
    assert "python-accounting ran at 30" in out
    assert "ratio posting lines/s, retailhub / python-accounting, both at 30" in out
    assert "ratio trial balance seconds, python-accounting / retailhub, both at 30" in out
    assert "NO" not in out.split("Summary", 1)[1]
