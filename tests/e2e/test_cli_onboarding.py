"""A retailer without the demo: init, import the item master, receive stock, take orders.

Runs the installed `retailhub` command as a user would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from retail_shop import T0
from retailhub.adapters.connectors.shopify.signature import sign_body
from retailhub.demo.shopify_payloads import LineSpec, TaxRate, order_payload

pytestmark = pytest.mark.slow
EXE = Path(sys.executable).parent / "retailhub"

ITEMS_CSV = (
    "sku,title,unit_cost,barcode,style,options,uom,conversions,tax_class,"
    "shopify_variant_id,shopify_inventory_item_id\n"
) + """TEE-M,Crew tee M,8.10,0700000000011,Crew tee,Colour=Navy;Size=M,EA,CASE=12,apparel,41001,51001
MUG,Logo mug,3.25,0700000000012,,,EA,,homeware,41002,51002
"""


def run(tmp: Path, db: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(EXE), "--db", db, "--config", str(tmp / "retailhub.toml"), *args],
                          capture_output=True, text=True, cwd=tmp, timeout=120)
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def test_onboarding_without_the_demo(tmp_path: Path, db_url: str):
    run(tmp_path, db_url, "init")
    config = tomllib.loads((tmp_path / "retailhub.toml").read_text())
    secret = config["connectors"]["shopify"]["secret"]

    bad = tmp_path / "bad.csv"
    bad.write_text(ITEMS_CSV + "SOCK,,1.00\nBAG,Tote,abc\nTEE-M,Again,1\n")
    refused = run(tmp_path, db_url, "items", "import", str(bad), "--json", ok=False)
    assert refused.returncode == 1
    report = json.loads(refused.stdout)
    assert report["imported"] == 0
    assert [e.split(":")[0] for e in report["errors"]] == ["line 4", "line 5", "line 6"]
    assert run(tmp_path, db_url, "inventory", "receive", "TEE-M", "WH", "5",
               ok=False).returncode == 1  # nothing of the bad file was imported

    good = tmp_path / "items.csv"
    good.write_text(ITEMS_CSV)
    assert json.loads(run(tmp_path, db_url, "items", "import", str(good), "--json").stdout) \
        == {"imported": 2, "errors": []}
    received = json.loads(run(tmp_path, db_url, "inventory", "receive", "TEE-M", "WH", "24",
                              "--reference", "PO-1", "--json").stdout)
    assert received["on_hand"] == 24

    # Shopify sells a tee, identified by its variant id only (no SKU on the line).
    line = LineSpec(13_000_000_001, 41001, "", "Crew tee M", Decimal("19.95"), 2,
                    (TaxRate("NY State Tax", Decimal("0.04")),))
    body = orjson.dumps(order_payload(order_id=5_000_000_001, number=1001, created_at=T0,
                                      updated_at=T0, currency="USD", lines=[line]))
    capture = tmp_path / "captures" / "00001-orders-create.json"
    capture.parent.mkdir()
    capture.write_bytes(orjson.dumps({"topic": "orders/create", "body": body.decode(), "headers": {
        "X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": "evt-onboard-1",
        "X-Shopify-Hmac-Sha256": sign_body(secret, body)}}))
    ingested = json.loads(run(tmp_path, db_url, "ingest", str(capture.parent), "--json").stdout)
    assert (ingested["accepted"], ingested["applied"], ingested["failed"]) == (1, 1, 0)

    atp = json.loads(run(tmp_path, db_url, "inventory", "atp", "TEE-M", "--json").stdout)
    wh = next(p for p in atp["positions"] if p["location"] == "WH")
    assert (wh["on_hand"], wh["reserved"]) == (24, 2)
    assert atp["atp"]["web"] == 22
    tb = json.loads(run(tmp_path, db_url, "ledger", "trial-balance", "--json").stdout)
    assert tb["balanced"] and tb["debits"] > 0
    assert json.loads(run(tmp_path, db_url, "exceptions", "list", "--json").stdout) == []
