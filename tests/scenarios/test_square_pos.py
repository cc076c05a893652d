"""A Square register sale through the hub: signed webhooks, the full order fetched, the books.

Square's order webhooks carry only a stub; the connector fetches the full order from the
Orders API (a local fake here, enforcing the access token). The sale's card payment arrives
first as its own webhook; the order then leaves one expected receipt for it (not two) and the
cash tender none (cash is never in a payout). Stock leaves the store mapped from Square's
location, the items are found by their Square catalog ids, and the split tender is posted to
the card clearing account and the cash drawer.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import httpx

from retail_shop import open_shop
from retailhub.adapters.connectors.square.api import SquareApi
from retailhub.adapters.connectors.square.signature import sign
from retailhub.adapters.connectors.square.webhook import SquareWebhooks
from retailhub.adapters.storage.money_records import SqlMoneyRecords
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.services.commands import receive_stock
from retailhub.services.intake import receive

FIXTURES = Path(__file__).parents[1] / "fixtures/square"
KEY, URL, TOKEN = "sq-signature-key", "https://hub.example.com/webhooks/square", "EAAA-test"
SQUARE_LOCATION = "LH2Q8W4VPK6N1"
ITEMS = {  # sku: (Square ITEM_VARIATION id, cost)
    "BEANS-1KG": ("W6QFK3ZJ2XHCY7BNM4RTAE5P", "7.00"),
    "DRIPPER": ("K2VN7XQ4ZJ8HD3RWYB6MCT5E", "9.50"),
}


def test_a_square_register_sale_is_fetched_posted_and_expected_once(
    db_url: str, tmp_path: Path
) -> None:
    shop = open_shop(db_url)
    order = json.loads((FIXTURES / "order-pos-split-tender.json").read_text())
    served: list[str] = []

    def square_api(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"errors": [{"category": "AUTHENTICATION_ERROR",
                                                         "code": "UNAUTHORIZED"}]})
        served.append(request.url.path)
        assert request.url.path == "/v2/orders/batch-retrieve"
        assert json.loads(request.content)["order_ids"] == [order["id"]]
        return httpx.Response(200, json={"orders": [order]})

    source = SquareWebhooks([KEY], URL, SquareApi(TOKEN, transport=httpx.MockTransport(square_api),
                                                  sleep=lambda _: None))
    shop.hub.sources["square"] = source
    with shop.hub.uow() as uow:
        uow.catalog.save_items(
            [(Item(sku, sku.title(), Money.of(cost, "USD")), {"square:variant": variation})
             for sku, (variation, cost) in ITEMS.items()], "shopify")
        store = next(loc for loc in shop.hub.settings.locations if loc.code == "STORE-1")
        uow.catalog.save_location(  # as `square_location_id = "…"` in retailhub.toml would
            replace(store, external_ids={**store.external_ids, "square": SQUARE_LOCATION}))
        for sku in ITEMS:
            receive_stock(uow, shop.hub.settings.rules(), sku, "STORE-1", 5,
                          shop.hub.clock(), f"opening:{sku}")
        uow.commit()
    opening = shop.balances()

    def deliver(name: str) -> None:
        body = (FIXTURES / name).read_bytes()
        headers = {"x-square-hmacsha256-signature": sign(KEY, URL, body)}
        with shop.hub.uow() as uow:
            assert receive(uow, source, headers, body, shop.hub.clock()).status == "accepted"
            uow.commit()

    deliver("payment-created-card.json")  # the card payment is reported first
    deliver("order-updated-stub.json")  # then the order, as a stub
    stats = shop.process()
    assert (stats.applied, stats.failed) == (2, 0), shop.exceptions()
    assert served == ["/v2/orders/batch-retrieve"]

    assert shop.position("BEANS-1KG", "STORE-1")[0] == 3
    assert shop.position("DRIPPER", "STORE-1")[0] == 4
    books = {a: b - opening.get(a, 0) for a, b in shop.balances().items() if b != opening.get(a)}
    assert books["Assets:Clearing:Square"] == 4000  # the card tender
    assert books["Assets:Cash-Drawers"] == 1706  # the cash tender (the demo maps cash there)
    assert sum(books.values()) == 0
    with shop.hub.uow() as uow:
        receipts = SqlMoneyRecords(uow.conn).expected_receipts()
    assert [(r.gateway, r.transaction_id, r.amount) for r in receipts] == [
        ("square", "bP3kXq9LwR2mT7vN5yH8cJ4sF6dZY", 4000)  # one receipt, cash none
    ]


def test_a_square_outage_is_retried_with_backoff_and_a_refused_token_escalates(
    db_url: str,
) -> None:
    """Square answers the order fetch with 503 twice: the delivery is retried automatically
    (status "retrying", backing off) and applies on the third attempt. A token Square refuses
    is not retried at all: it waits for a person as a connector_auth_failure."""
    from retailhub.adapters.connectors.kit import RetryPolicy

    shop = open_shop(db_url, extra_config="[exceptions]\nretry_limit = 5\n"
                                          "retry_base_seconds = 0.001\n")
    order = json.loads((FIXTURES / "order-pos-split-tender.json").read_text())
    failures = {"left": 2, "calls": 0}

    def flaky_square(request: httpx.Request) -> httpx.Response:
        failures["calls"] += 1
        if failures["left"] > 0:
            failures["left"] -= 1
            return httpx.Response(503, json={"errors": [{"category": "API_ERROR",
                                                         "code": "SERVICE_UNAVAILABLE"}]})
        return httpx.Response(200, json={"orders": [order]})

    api = SquareApi(TOKEN, transport=httpx.MockTransport(flaky_square), sleep=lambda _: None,
                    retry=RetryPolicy(max_attempts=1))  # one call per attempt: the hub retries
    source = SquareWebhooks([KEY], URL, api)
    shop.hub.sources["square"] = source
    with shop.hub.uow() as uow:
        uow.catalog.save_items(
            [(Item(sku, sku.title(), Money.of(cost, "USD")), {"square:variant": variation})
             for sku, (variation, cost) in ITEMS.items()], "shopify")
        store = next(loc for loc in shop.hub.settings.locations if loc.code == "STORE-1")
        uow.catalog.save_location(
            replace(store, external_ids={**store.external_ids, "square": SQUARE_LOCATION}))
        uow.commit()
    body = (FIXTURES / "order-updated-stub.json").read_bytes()
    with shop.hub.uow() as uow:
        receive(uow, source, {"x-square-hmacsha256-signature": sign(KEY, URL, body)}, body,
                shop.hub.clock())
        uow.commit()

    shop.process()
    (retrying,) = [e for e in shop.exceptions("retrying") if e["type"] == "connector_error"]
    for _ in range(20):  # each run requeues what is due; the backoff here is milliseconds
        if not shop.exceptions("retrying"):
            break
        time.sleep(0.05)
        shop.process()
    assert failures["calls"] == 3
    assert shop.exceptions("retrying") == []
    assert not [e for e in shop.exceptions() if e["type"].startswith("connector")]
    assert shop.position("BEANS-1KG", "STORE-1")[0] == -2  # the sale applied (no stock loaded)
    resolved = [e for e in shop.exceptions("resolved") if e["id"] == retrying["id"]]
    assert resolved, "the connector error resolved itself once the fetch succeeded"

    refused = SquareWebhooks([KEY], URL, SquareApi(
        TOKEN, transport=httpx.MockTransport(lambda r: httpx.Response(401, json={"errors": [
            {"category": "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED",
             "detail": "This request could not be authorized."}]})), sleep=lambda _: None))
    shop.hub.sources["square"] = refused
    other = body.replace(b"6c2f4e8a-1b3d-4f5a-9c7e-2d4b6f8a1c3e", b"another-event-id-0000000001")
    with shop.hub.uow() as uow:
        receive(uow, refused, {"x-square-hmacsha256-signature": sign(KEY, URL, other)}, other,
                shop.hub.clock())
        uow.commit()
    shop.process()
    (escalated,) = [e for e in shop.exceptions() if e["type"].startswith("connector")]
    assert (escalated["type"], escalated["owner"]) == ("connector_auth_failure", "it")
    assert shop.exceptions("retrying") == []  # not retried: a person must fix the token
