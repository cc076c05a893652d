"""`retailhub square sync` against a local fake Square: orders no webhook brought, applied.

The fake is a real HTTP server on localhost speaking the two Orders API calls the sync uses
(SearchOrders with cursor pages, BatchRetrieveOrders), checking the bearer token and the
Square-Version header. Running the sync twice applies nothing twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from retail_shop import SECRET, open_shop
from retailhub.demo.retailer import config_text
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.entrypoints.cli.main import app
from retailhub.services.commands import receive_stock

FIXTURES = Path(__file__).parents[1] / "fixtures/square"
TOKEN = "EAAA-sync-token"
SQUARE_LOCATION = "LH2Q8W4VPK6N1"
ITEMS = {"BEANS-1KG": "W6QFK3ZJ2XHCY7BNM4RTAE5P", "DRIPPER": "K2VN7XQ4ZJ8HD3RWYB6MCT5E"}


class FakeSquare(BaseHTTPRequestHandler):
    orders: ClassVar[list[dict[str, Any]]] = []
    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:  # http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}" or not self.headers.get(
            "Square-Version"
        ):
            return self._reply(401, {"errors": [{"category": "AUTHENTICATION_ERROR",
                                                 "code": "UNAUTHORIZED", "detail": "bad token"}]})
        self.calls.append(self.path)
        if self.path == "/v2/orders/search":
            assert body["location_ids"] == [SQUARE_LOCATION]
            # One order per page: the second page is asked for with the first page's cursor.
            page = int(body.get("cursor") or 0)
            reply: dict[str, Any] = {"orders": self.orders[page : page + 1]}
            if page + 1 < len(self.orders):
                reply["cursor"] = str(page + 1)
            return self._reply(200, reply)
        if self.path == "/v2/orders/batch-retrieve":
            wanted = set(body["order_ids"])
            return self._reply(200, {"orders": [o for o in self.orders if o["id"] in wanted]})
        return self._reply(404, {"errors": [{"code": "NOT_FOUND", "detail": self.path}]})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        """Quiet."""


@pytest.fixture
def fake_square() -> Iterator[str]:
    sale = json.loads((FIXTURES / "order-pos-split-tender.json").read_text())
    second = {**sale, "id": "pSecondOrder0000000000000001", "reference_id": "R-2",
              "tenders": [{**t, "id": f"{t['id']}-2",
                           "payment_id": (t.get("payment_id") or "") + "-2"}
                          for t in sale["tenders"]]}
    FakeSquare.orders, FakeSquare.calls = [sale, second], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeSquare)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_square_sync_applies_orders_no_webhook_brought(
    fake_square: str, db_url: str, tmp_path: Path
) -> None:
    shop = open_shop(db_url)
    with shop.hub.uow() as uow:
        uow.catalog.save_items([(Item(sku, sku.title(), Money.of("5.00", "USD")),
                                 {"square:variant": variation})
                                for sku, variation in ITEMS.items()], "shopify")
        for sku in ITEMS:
            receive_stock(uow, shop.hub.settings.rules(), sku, "STORE-1", 10, shop.hub.clock(),
                          f"opening:{sku}")
        uow.commit()
    text = config_text(SECRET).replace(
        'shopify_location_id = "70002"', f'shopify_location_id = "70002"\n'
                                         f'square_location_id = "{SQUARE_LOCATION}"')
    assert SQUARE_LOCATION in text
    config = tmp_path / "retailhub.toml"
    config.write_text(text + f"""
[connectors.square]
signature_key = "unused-for-sync"
notification_url = "https://hub.example.com/webhooks/square"
access_token = "{TOKEN}"
base_url = "{fake_square}"
""")
    cli = CliRunner()
    base = ["--db", db_url, "--config", str(config)]
    run = cli.invoke(app, [*base, "square", "sync", "--since", "2025-03-01T00:00:00Z", "--json"])
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)
    assert (result["found"], result["accepted"], result["applied"], result["failed"]) == (
        2, 2, 2, 0), result
    assert FakeSquare.calls.count("/v2/orders/search") == 2  # two cursor pages
    assert shop.position("BEANS-1KG", "STORE-1")[0] == 10 - 2 * 2
    assert shop.position("DRIPPER", "STORE-1")[0] == 10 - 2 * 1

    again = json.loads(cli.invoke(app, [*base, "square", "sync", "--since", "2025-03-01",
                                        "--json"]).stdout)
    assert (again["found"], again["accepted"], again["duplicate"]) == (2, 0, 2)
    assert shop.position("BEANS-1KG", "STORE-1")[0] == 6
