"""`retailhub doctor` before go-live: what will make integrations fail, and nothing more."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
EXE = Path(sys.executable).parent / "retailhub"


def doctor(tmp: Path, db: str, *args: str) -> tuple[int, dict]:
    done = subprocess.run([str(EXE), "--db", db, "--config", str(tmp / "retailhub.toml"),
                           *args], capture_output=True, text=True, cwd=tmp, timeout=120)
    return done.returncode, (json.loads(done.stdout) if "--json" in args and done.stdout
                             else {})


def test_doctor_finds_what_blocks_go_live(tmp_path: Path, db_url: str):
    subprocess.run([str(EXE), "--db", "sqlite:///unused.db", "--config",
                    str(tmp_path / "retailhub.toml"), "init"], check=True, cwd=tmp_path,
                   capture_output=True)
    code, report = doctor(tmp_path, db_url, "doctor", "--json")
    assert code == 1 and [f["check"] for f in report["findings"]] == ["migrations"]

    subprocess.run([str(EXE), "--db", db_url, "--config", str(tmp_path / "retailhub.toml"),
                    "init"], check=True, cwd=tmp_path, capture_output=True)
    code, report = doctor(tmp_path, db_url, "doctor", "--json")
    assert code == 0 and report == {"ready": True, "findings": []}

    items = tmp_path / "items.csv"
    items.write_text("sku,title,unit_cost,shopify_variant_id\nFREEBIE,Sample,0,41001\n"
                     "MUG,Logo mug,3.25,\n")
    subprocess.run([str(EXE), "--db", db_url, "--config", str(tmp_path / "retailhub.toml"),
                    "items", "import", str(items)], check=True, cwd=tmp_path,
                   capture_output=True)
    code, report = doctor(tmp_path, db_url, "doctor", "--json")
    messages = [f["message"] for f in report["findings"]]
    assert code == 0  # warnings only: they cost money, they do not stop deliveries
    assert any("FREEBIE has no cost" in m for m in messages)
    assert any("1 item(s) have no Shopify variant id" in m for m in messages)
