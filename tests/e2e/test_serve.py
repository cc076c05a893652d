"""`retailhub serve` as a user runs it: a real HTTP server, signed webhooks, a worker thread."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from retail_shop import SECRET, Shop, open_shop
from retailhub.adapters.storage.tokens_repo import create_token
from retailhub.demo.retailer import config_text

pytestmark = pytest.mark.slow

STRIPE_SECRET, SQUARE_KEY = "whsec_serve", "square-serve-key"
SQUARE_URL = "https://hub.example.com/webhooks/square"
MONEY_CONNECTORS = f"""
[connectors.stripe]
secret = "{STRIPE_SECRET}"

[connectors.square]
signature_key = "{SQUARE_KEY}"
notification_url = "{SQUARE_URL}"
"""
FIXTURES = Path(__file__).parents[1] / "fixtures"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, db_url: str):
    shop = open_shop(db_url)  # migrated database with items and opening stock
    with shop.hub.engine.begin() as conn:
        shop.token = create_token(conn, "serve test", "read_only", (), shop.hub.clock())  # type: ignore[attr-defined]
    shop.hub.engine.dispose()
    cfg = tmp_path / "retailhub.toml"
    cfg.write_text(config_text(SECRET) + MONEY_CONNECTORS)
    port = _free_port()
    exe = Path(sys.executable).parent / "retailhub"
    proc = subprocess.Popen(
        [str(exe), "--db", db_url, "--config", str(cfg), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stdout.read().decode() if proc.stdout else ''}")
    yield base, shop
    proc.terminate()
    proc.wait(timeout=15)


def _wait_for(predicate, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_webhooks_are_acknowledged_stored_and_applied_by_the_worker(server):
    base, shop = server
    shop_: Shop = shop
    order = shop_.order([shop_.line("SHIRT-M")])
    headers, body = shop_.signed("orders/create", order, event_id="evt-serve-1")
    reply = httpx.post(f"{base}/webhooks/shopify", content=body, headers=headers, timeout=10)
    assert reply.status_code == 200 and reply.json()["status"] == "accepted"
    again = httpx.post(f"{base}/webhooks/shopify", content=body, headers=headers, timeout=10)
    assert again.json()["status"] == "duplicate"

    forged = dict(headers, **{"X-Shopify-Hmac-Sha256": "bm90LWEtc2lnbmF0dXJl",
                              "X-Shopify-Event-Id": "evt-serve-2"})
    refused = httpx.post(f"{base}/webhooks/shopify", content=body, headers=forged, timeout=10)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")

    auth = {"Authorization": f"Bearer {shop_.token}"}  # type: ignore[attr-defined]

    def get(path: str) -> Any:
        return httpx.get(f"{base}{path}", headers=auth, timeout=5).json()

    assert httpx.get(f"{base}/ledger/trial-balance", timeout=5).status_code == 401
    atp = _wait_for(lambda: get("/inventory/SHIRT-M/atp")
                    if get("/ledger/trial-balance")["debits"] > shop_.opening_total() else None)
    assert atp["atp"]["web"] == 3 * 10 - 1  # one unit reserved for the order
    tb = get("/ledger/trial-balance")
    assert tb["debits"] == tb["credits"]
    exceptions = get("/exceptions")
    items = exceptions["items"] if isinstance(exceptions, dict) else exceptions
    assert [e["type"] for e in items] == ["signature_failure"]


def test_an_oversized_body_is_refused(server):
    base, _ = server
    reply = httpx.post(f"{base}/webhooks/shopify", content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
                       headers={"X-Shopify-Topic": "orders/create"}, timeout=30)
    assert reply.status_code == 413
    assert orjson.loads(reply.content)["status"] == 413


def test_stripe_and_square_webhooks_are_verified_by_their_own_schemes(server):
    from retailhub.adapters.connectors.square.signature import sign
    from retailhub.adapters.connectors.stripe.signature import signature_header

    base, _ = server
    charge = (FIXTURES / "stripe/charge.succeeded.json").read_bytes()
    signed = {"Stripe-Signature": signature_header(STRIPE_SECRET, charge, int(time.time()))}
    reply = httpx.post(f"{base}/webhooks/stripe", content=charge, headers=signed, timeout=10)
    assert reply.status_code == 200 and reply.json()["status"] == "accepted"
    replayed = {"Stripe-Signature": signature_header(STRIPE_SECRET, charge,
                                                     int(time.time()) - 3600)}
    refused = httpx.post(f"{base}/webhooks/stripe", content=charge, headers=replayed, timeout=10)
    assert refused.status_code == 401

    payment = (FIXTURES / "square/payment-created-card.json").read_bytes()
    good = {"x-square-hmacsha256-signature": sign(SQUARE_KEY, SQUARE_URL, payment)}
    assert httpx.post(f"{base}/webhooks/square", content=payment, headers=good,
                      timeout=10).json()["status"] == "accepted"
    bad = {"x-square-hmacsha256-signature": sign("another-key", SQUARE_URL, payment)}
    assert httpx.post(f"{base}/webhooks/square", content=payment, headers=bad,
                      timeout=10).status_code == 401
