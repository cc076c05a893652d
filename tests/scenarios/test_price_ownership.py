"""A price edited in Shopify while retailhub owns prices: rejected, flagged, and pushed back.

Prices are retailhub's (`[ownership] prices = "retailhub"`) and the web price list says 24.95
for the large tee. Someone edits it to 19.95 in the Shopify admin. The hub does not take the
change: it queues an ownership exception for eCommerce and, because `[push_back] prices` is
on, owes Shopify the owner's price. `retailhub channels send-updates` writes 24.95 back to the
variant on a local fake Shopify; Shopify's own products/update for that write then matches the
price list and raises nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from retail_shop import SECRET, VARIANT, Shop, open_shop
from retailhub.demo.retailer import config_text
from retailhub.entrypoints.cli.main import app

TOKEN = "shpat_scenario_token"


class FakeShopifyAdmin(BaseHTTPRequestHandler):
    prices: ClassVar[dict[int, str]] = {}

    def do_PUT(self) -> None:  # http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-Shopify-Access-Token") != TOKEN:
            return self._reply(401, {"errors": "[API] Invalid API key or access token"})
        variant = body["variant"]
        assert self.path == f"/admin/api/2025-10/variants/{variant['id']}.json"
        self.prices[variant["id"]] = variant["price"]
        return self._reply(200, {"variant": {"id": variant["id"], "price": variant["price"]}})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Shopify-Shop-Api-Call-Limit", "1/40")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        """Quiet."""


@pytest.fixture
def fake_shopify() -> Iterator[str]:
    FakeShopifyAdmin.prices = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeShopifyAdmin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def product_update(price: str, at: datetime) -> dict[str, Any]:
    stamp = at.isoformat()
    return {"id": 632910392, "title": "Tee", "updated_at": stamp, "variants": [
        {"id": VARIANT["TEE-L"], "product_id": 632910392, "sku": "TEE-L", "price": price,
         "compare_at_price": None, "updated_at": stamp}]}


def test_a_non_owner_price_change_is_rejected_and_reverted(
    db_url: str, tmp_path: Path, fake_shopify: str
) -> None:
    push_back = "\n[push_back]\nprices = true\n"
    shop: Shop = open_shop(db_url, extra_config=push_back)
    text = config_text(SECRET).replace(
        '[connectors.shopify]\n', f'[connectors.shopify]\nadmin_token = "{TOKEN}"\n'
    ).replace('shop_domain = "', f'shop_domain = "{fake_shopify}" # ') + push_back
    config = tmp_path / "retailhub.toml"
    config.write_text(text)
    cli, base = CliRunner(), ["--db", db_url, "--config", str(config)]
    prices = tmp_path / "prices.csv"
    prices.write_text("sku,channel,location,price,currency,effective_from,effective_to\n"
                      "TEE-L,web,,24.95,USD,2026-01-01,\n")
    imported = cli.invoke(app, [*base, "prices", "import", str(prices), "--json"])
    assert imported.exit_code == 0, imported.output

    edited_at = datetime.now(UTC) - timedelta(minutes=5)
    shop.deliver("products/update", product_update("19.95", edited_at))
    shop.process()
    (flagged,) = [e for e in shop.exceptions() if e["type"] == "ownership_violation"]
    assert flagged["subject"] == "price:TEE-L:web" and flagged["owner"] == "ecommerce"
    shown = json.loads(cli.invoke(app, [*base, "prices", "show", "TEE-L", "--json"]).stdout)
    assert shown["price"] == "24.95 USD"  # not applied

    sent = json.loads(cli.invoke(app, [*base, "channels", "send-updates", "--json"]).stdout)
    assert sent == {"sent": 1, "failed": 0, "no_credentials": 0}
    assert FakeShopifyAdmin.prices == {VARIANT["TEE-L"]: "24.95"}  # reverted in Shopify

    # Shopify echoes the write as another products/update: it matches, nothing new is raised.
    shop.deliver("products/update", product_update("24.95", edited_at + timedelta(minutes=1)))
    shop.process()
    assert len([e for e in shop.exceptions() if e["type"] == "ownership_violation"]) == 1
    again = json.loads(cli.invoke(app, [*base, "channels", "send-updates", "--json"]).stdout)
    assert again["sent"] == 0  # nothing more is owed
