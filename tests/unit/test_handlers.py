"""The handlers and the processor as retail stories, on in-memory fakes: no database.

Deliveries are signed Shopify bodies from the demo payload builders; they go through the real
intake, the real Shopify translator and the real ``Processor``, with ``FakeUnitOfWork`` behind.
"""

from __future__ import annotations

import itertools
import tomllib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from fakes import FakeCatalogRepository, FakeUnitOfWork
from retailhub import config
from retailhub.adapters.connectors.shopify.signature import sign_body
from retailhub.adapters.connectors.shopify.webhook import ShopifyWebhooks
from retailhub.demo.retailer import SHOPIFY_LOCATIONS as LOC
from retailhub.demo.retailer import config_text
from retailhub.demo.shopify_payloads import (
    LineSpec,
    fulfillment_payload,
    order_payload,
    refund_payload,
)
from retailhub.demo.trading_day import order_payload_after
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.services.commands import receive_stock
from retailhub.services.intake import Receipt, receive
from retailhub.services.processing import Processor, ProcessStats

SECRET = "unit-test-secret"
SETTINGS = config.parse(tomllib.loads(config_text(SECRET)))
RULES = SETTINGS.rules()
assert SETTINGS.shopify is not None
SHOPIFY = ShopifyWebhooks(SETTINGS.shopify.secrets, SETTINGS.shopify.channels or None)

EASTERN = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
CATALOG = {  # sku: (price, cost)
    "SHIRT-M": (Decimal("59.95"), Decimal("22.00")),
    "TEE-L": (Decimal("24.95"), Decimal("8.10")),
    "SOCKS": (Decimal("9.99"), Decimal("2.25")),
}
VARIANT = {sku: 40_000_000 + i for i, sku in enumerate(CATALOG)}
OPENING_STOCK = 10  # of every SKU at WH and STORE-1


@dataclass
class Shop:
    """A shop on fakes: builds Shopify bodies, delivers them signed, processes the inbox."""

    uow: FakeUnitOfWork
    opening: dict[str, int] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def line(self, sku: str, qty: int = 1) -> LineSpec:
        price = CATALOG[sku][0] if sku in CATALOG else Decimal("35.00")
        return LineSpec(13_000_000_000 + next(self.ids), VARIANT.get(sku, 99_999_999), sku,
                        sku.title(), price, qty)

    def order(self, lines: list[LineSpec], updated: datetime = T0,
              like: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """A new order, or (``like``) a newer snapshot of an existing one."""
        n = like["order_number"] - 1000 if like else next(self.ids)
        return order_payload(order_id=5_000_000_000 + n, number=1000 + n, created_at=T0,
                             updated_at=updated, currency="USD", lines=lines,
                             customer_id=7_000_000_000 + n, **kw)

    def fulfilment(self, order: dict[str, Any], location: str | int,
                   lines: list[tuple[int, int]]) -> dict[str, Any]:
        """From one of our locations by code, or from a raw Shopify location id."""
        location_id = LOC[location] if isinstance(location, str) else location
        return fulfillment_payload(fulfillment_id=4_100_000_000 + next(self.ids), order=order,
                                   location_id=location_id, lines=lines,
                                   created_at=T0 + timedelta(hours=1))

    def refund(self, order: dict[str, Any],
               lines: list[tuple[int, int, str, int | None]]) -> dict[str, Any]:
        return refund_payload(refund_id=9_000_000_000 + next(self.ids), order=order,
                              created_at=T0 + timedelta(hours=2), lines=lines)

    def deliver(self, topic: str, body: dict[str, Any], event_id: str | None = None) -> Receipt:
        raw = orjson.dumps(body)
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign_body(SECRET, raw),
                   "X-Shopify-Event-Id": event_id or str(uuid.uuid4())}
        with self.uow:
            receipt = receive(self.uow, SHOPIFY, headers, raw, NOW)
            self.uow.commit()
        return receipt

    def process(self) -> ProcessStats:
        processor = Processor(uow_factory=lambda: self.uow, sources={"shopify": SHOPIFY},
                              rules=RULES, clock=lambda: NOW)
        return processor.run_until_idle()

    def books(self) -> dict[str, int]:
        """Balances moved by deliveries: the opening stock entries left out."""
        now = {acct: amount for (acct, _), amount in self.uow.ledger.trial_balance().items()}
        moved = {acct: now.get(acct, 0) - self.opening.get(acct, 0) for acct in now}
        return {acct: amount for acct, amount in moved.items() if amount}

    def position(self, sku: str, location: str = "WH") -> tuple[int, int]:
        p = self.uow.inventory.position(sku, location)
        return p.on_hand, p.reserved

    def open_exceptions(self) -> list[dict[str, Any]]:
        return [dict(self.uow.exceptions.rows[i]) for i in self.uow.exceptions.open_ids()]


@pytest.fixture
def shop() -> Shop:
    catalog = FakeCatalogRepository(
        items={sku: Item(sku, sku.title(), Money.of(cost, "USD"))
               for sku, (_, cost) in CATALOG.items()},
        identities={("shopify", "variant", str(v)): sku for sku, v in VARIANT.items()},
        locations={("shopify", str(shopify_id)): code for code, shopify_id in LOC.items()},
    )
    uow = FakeUnitOfWork(catalog)
    with uow:
        for sku in CATALOG:
            for location in ("WH", "STORE-1"):
                receive_stock(uow, RULES, sku, location, OPENING_STOCK, T0 - timedelta(days=1),
                              f"opening:{sku}:{location}")
        uow.commit()
    shop = Shop(uow)
    shop.opening = {acct: amount for (acct, _), amount in uow.ledger.trial_balance().items()}
    return shop


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


def test_a_web_order_reserves_its_stock_at_the_channels_default_location(shop: Shop) -> None:
    """A web order names no location; the web channel's default (WH) holds the units for it,
    and the money taken is a customer deposit until the goods leave."""
    shirts = shop.line("SHIRT-M", qty=2)
    order = shop.order([shirts])
    assert shop.deliver("orders/create", order).status == "accepted"

    stats = shop.process()

    assert (stats.applied, stats.failed, stats.waiting) == (1, 0, 0)
    assert shop.position("SHIRT-M", "WH") == (10, 2)
    assert shop.position("SHIRT-M", "STORE-1") == (10, 0)
    total = cents(order["total_price"])
    assert shop.books() == {"Assets:Clearing:Shopify-Payments": total,
                            "Liabilities:Customer-Deposits": -total}


def test_shipping_the_order_sells_the_stock_and_recognises_revenue(shop: Shop) -> None:
    """Two shirts ship from WH: they leave on-hand and their reservation, revenue is
    recognised, and their cost moves from inventory to COGS."""
    shirts = shop.line("SHIRT-M", qty=2)
    order = shop.order([shirts])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(shirts.line_id, 2)]))

    assert shop.process().applied == 2

    books = shop.books()
    assert books["Income:Sales"] == -2 * 5995
    assert books["Expenses:COGS"] == 2 * 2200
    assert books["Assets:Inventory"] == -2 * 2200
    assert "Liabilities:Customer-Deposits" not in books  # the deposit became the sale
    assert sum(books.values()) == 0
    assert shop.position("SHIRT-M", "WH") == (8, 0)
    assert shop.open_exceptions() == []


def test_a_refund_that_arrives_before_its_order_waits_then_applies(shop: Shop) -> None:
    """Shopify does not promise delivery order: a cancellation refund that comes first sleeps
    until its order is applied, then applies in the same run."""
    socks = shop.line("SOCKS")
    order = shop.order([socks])
    shop.deliver("refunds/create", shop.refund(order, [(socks.line_id, 1, "cancel", LOC["WH"])]))

    first = shop.process()
    assert (first.applied, first.waiting) == (0, 1)
    assert shop.uow.inbox.waiting_dependencies() == {f"order:shopify:{order['id']}"}
    assert shop.books() == {}
    assert shop.open_exceptions() == []

    shop.deliver("orders/create", order)
    second = shop.process()

    assert (second.applied, second.waiting, second.failed) == (2, 0, 0)
    assert {d.status for d in shop.uow.inbox.rows.values()} == {"applied"}
    assert shop.books() == {}  # paid and refunded in full
    assert shop.position("SOCKS", "WH") == (10, 0)  # reserved, then released by the cancel


def test_an_unknown_sku_blocks_the_order_until_the_item_master_knows_it(shop: Shop) -> None:
    """An order selling a SKU we do not stock is a blocking ``unknown_sku`` for e-commerce:
    nothing is posted or reserved. Once the item exists, a retry applies it and the
    exception resolves itself."""
    hat = shop.line("MYSTERY-HAT")
    order = shop.order([shop.line("TEE-L"), hat])
    entries, movements = dict(shop.uow.ledger.entries), list(shop.uow.inventory.movements)
    shop.deliver("orders/create", order)

    stats = shop.process()

    assert (stats.applied, stats.failed) == (0, 1)
    assert stats.by_problem == {"unknown_sku": 1}
    [problem] = shop.open_exceptions()
    assert (problem["type"], problem["blocking"], problem["owner"]) == (
        "unknown_sku", True, "ecommerce")
    assert problem["subject"] == "sku:MYSTERY-HAT"
    assert shop.uow.ledger.entries == entries
    assert shop.uow.inventory.movements == movements
    assert shop.uow.orders.get("shopify", str(order["id"])) is None

    shop.uow.catalog.items["MYSTERY-HAT"] = Item("MYSTERY-HAT", "Hat", Money.of("12.00", "USD"))
    with shop.uow:
        shop.uow.inbox.requeue(problem["inbox_id"])
        shop.uow.commit()
    assert shop.process().applied == 1
    # The hat is applied; with none in stock the sale is flagged as an oversell, not refused.
    assert [(e["type"], e["subject"]) for e in shop.open_exceptions()] == [
        ("oversell", "oversell:web:MYSTERY-HAT")]
    assert shop.uow.exceptions.rows[problem["id"]]["status"] == "resolved"
    assert shop.position("MYSTERY-HAT") == (0, 1)


def test_a_redelivered_event_is_stored_and_applied_once(shop: Shop) -> None:
    """Shopify retries a webhook it thinks was lost, with the same event id."""
    order = shop.order([shop.line("TEE-L")])
    assert shop.deliver("orders/create", order, event_id="evt-1").status == "accepted"
    assert shop.deliver("orders/create", order, event_id="evt-1").status == "duplicate"

    assert shop.process().applied == 1
    assert shop.uow.inbox.duplicates == {("shopify", "evt-1"): 1}
    assert shop.position("TEE-L") == (10, 1)


def test_the_same_order_snapshot_under_a_new_event_changes_nothing(shop: Shop) -> None:
    """An ``orders/updated`` carrying the snapshot we already hold is a new event, applied,
    but it neither captures the payment again nor reserves more."""
    order = shop.order([shop.line("TEE-L")])
    shop.deliver("orders/create", order)
    shop.process()
    books = shop.books()

    shop.deliver("orders/updated", order)

    assert shop.process().applied == 1
    assert shop.books() == books
    assert shop.position("TEE-L") == (10, 1)


def test_a_refund_cancelling_more_than_is_open_leaves_no_trace(shop: Shop) -> None:
    """One tee of two has shipped; a refund that cancels both cannot be right. It is an
    ``inconsistent_document`` for finance, and the books, stock and order are untouched."""
    tees = shop.line("TEE-L", qty=2)
    order = shop.order([tees])
    shipped = shop.fulfilment(order, "WH", [(tees.line_id, 1)])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shipped)
    shop.process()
    entries, movements = dict(shop.uow.ledger.entries), list(shop.uow.inventory.movements)
    record = shop.uow.orders.get("shopify", str(order["id"]))
    assert record is not None
    before = record.lines[str(tees.line_id)].copy()

    refund = shop.refund(order_payload_after(order, [shipped]),
                         [(tees.line_id, 2, "cancel", LOC["WH"])])
    shop.deliver("refunds/create", refund)
    stats = shop.process()

    assert (stats.applied, stats.failed) == (0, 1)
    assert stats.by_problem == {"inconsistent_document": 1}
    assert [e["owner"] for e in shop.open_exceptions()] == ["finance"]
    assert shop.uow.ledger.entries == entries
    assert shop.uow.inventory.movements == movements
    assert record.lines[str(tees.line_id)] == before
    assert record.refund_ids == set()
    assert shop.position("TEE-L") == (9, 1)


def test_an_order_edit_refused_half_way_leaves_the_order_as_it_was(shop: Shop) -> None:
    """An edit lowers the tees from 2 to 1 (fine) and the socks from 3 to 1, below the 3
    already shipped (not fine). The handler has changed the tee line by the time it finds
    out; the delivery's savepoint puts it back, so the refused edit leaks nothing."""
    tees, socks = shop.line("TEE-L", qty=2), shop.line("SOCKS", qty=3)
    order = shop.order([tees, socks])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(socks.line_id, 3)]))
    shop.process()

    edited = shop.order([replace(tees, quantity=1), replace(socks, quantity=1)],
                        updated=T0 + timedelta(hours=3), like=order)
    shop.deliver("orders/updated", edited)
    stats = shop.process()

    assert stats.by_problem == {"inconsistent_document": 1}
    record = shop.uow.orders.get("shopify", str(order["id"]))
    assert record is not None
    assert record.lines[str(tees.line_id)].quantity == 2
    assert record.order.updated_at == T0
    assert shop.position("TEE-L") == (10, 2)


def test_a_snapshot_carrying_a_fulfilment_we_cannot_place_still_applies(shop: Shop) -> None:
    """An order arrives already shipped from a Shopify location we have not mapped. The order
    applies and keeps its reservation; the embedded fulfilment is undone by its own savepoint
    and flagged as advisory (its own webhook can bring it once the location is mapped)."""
    tee = shop.line("TEE-L")
    bare = shop.order([tee])
    shipped = shop.fulfilment(bare, 79_999, [(tee.line_id, 1)])
    order = shop.order([tee], like=bare, fulfillments=[shipped])
    shop.deliver("orders/create", order)

    stats = shop.process()

    assert (stats.applied, stats.failed) == (1, 0)
    assert stats.by_problem == {"unknown_location": 1}
    [problem] = shop.open_exceptions()
    assert problem["blocking"] is False
    record = shop.uow.orders.get("shopify", str(order["id"]))
    assert record is not None
    assert record.fulfilment_ids == set()
    assert record.lines[str(tee.line_id)].reserved == 1
    assert shop.position("TEE-L") == (10, 1)
    assert "Income:Sales" not in shop.books()


def test_a_bug_while_applying_one_delivery_costs_only_that_delivery(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug (not a data problem) rolls the batch back; the processor redoes it one delivery
    at a time, so the healthy order applies and the faulty one becomes a ``processing_error``
    with nothing of it left behind: not the order record it had already added."""
    healthy, broken = shop.order([shop.line("TEE-L")]), shop.order([shop.line("SHIRT-M")])
    post = shop.uow.ledger.post

    def post_or_crash(entry: Any, inbox_id: int | None, at: datetime) -> bool:
        if entry.source.document_id == str(broken["id"]):
            raise RuntimeError("ledger driver crashed")
        return post(entry, inbox_id, at)

    monkeypatch.setattr(shop.uow.ledger, "post", post_or_crash)
    shop.deliver("orders/create", healthy)
    shop.deliver("orders/create", broken)

    stats = shop.process()

    assert (stats.applied, stats.failed) == (1, 1)
    assert stats.by_problem == {"processing_error": 1}
    [problem] = shop.open_exceptions()
    assert "ledger driver crashed" in problem["reason"]
    assert shop.position("TEE-L") == (10, 1)
    assert shop.position("SHIRT-M") == (10, 0)
    assert shop.uow.orders.get("shopify", str(broken["id"])) is None
