"""A small shop for scenario tests: three locations, a handful of SKUs, Shopify deliveries.

Deliveries go through the real intake (signature, inbox) and the real processor on a real
database; the only thing made up is Shopify itself, via the payload builders.
"""

from __future__ import annotations

import itertools
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson

from retailhub import config
from retailhub.adapters.connectors.shopify.signature import sign_body
from retailhub.adapters.storage import queries
from retailhub.bootstrap import Hub, bootstrap
from retailhub.demo.retailer import config_text
from retailhub.demo.shopify_payloads import (
    DiscountSpec,
    LineSpec,
    TaxRate,
    fulfillment_payload,
    order_payload,
    refund_payload,
)
from retailhub.domain.catalog import Item
from retailhub.domain.money import Money
from retailhub.services.commands import receive_stock
from retailhub.services.intake import Receipt, receive
from retailhub.services.processing import ProcessStats

SECRET = "test-shop-secret"
EASTERN = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=EASTERN)
LOC = {"WH": 70001, "STORE-1": 70002, "STORE-2": 70003}
STATE = TaxRate("NY State Tax", Decimal("0.04"))
CITY = TaxRate("New York City Tax", Decimal("0.045"))

CATALOG = {  # sku: (price, cost)
    "SHIRT-M": (Decimal("59.95"), Decimal("22.00")),
    "CHINO-32": (Decimal("79.00"), Decimal("30.50")),
    "TEE-L": (Decimal("24.95"), Decimal("8.10")),
    "SOCKS": (Decimal("9.99"), Decimal("2.25")),
}
VARIANT = {sku: 40_000_000 + i for i, sku in enumerate(CATALOG)}


@dataclass
class Shop:
    hub: Hub
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    receipts: list[Receipt] = field(default_factory=list)

    # -- building Shopify bodies -----------------------------------------------------------

    def line(self, sku: str, qty: int = 1, taxes: tuple[TaxRate, ...] = (STATE, CITY)) -> LineSpec:
        price = CATALOG[sku][0] if sku in CATALOG else Decimal("35.00")
        return LineSpec(13_000_000_000 + next(self.ids), VARIANT.get(sku, 99_999_999), sku,
                        sku.title(), price, qty, taxes)

    def order(self, lines: list[LineSpec], at: datetime = T0, **kw: Any) -> dict[str, Any]:
        n = next(self.ids)
        kw.setdefault("customer_id", 7_000_000_000 + n)
        return order_payload(order_id=5_000_000_000 + n, number=1000 + n, created_at=at,
                             updated_at=at, currency="USD", lines=lines, **kw)

    def fulfilment(self, order: dict[str, Any], location: str, lines: list[tuple[int, int]],
                   at: datetime) -> dict[str, Any]:
        return fulfillment_payload(fulfillment_id=4_100_000_000 + next(self.ids), order=order,
                                   location_id=LOC[location], lines=lines, created_at=at)

    def refund(self, order: dict[str, Any], lines: list[tuple[int, int, str, int | None]],
               at: datetime, **kw: Any) -> dict[str, Any]:
        return refund_payload(refund_id=9_000_000_000 + next(self.ids), order=order,
                              created_at=at, lines=lines, **kw)

    # -- delivering ------------------------------------------------------------------------

    def signed(self, topic: str, body: dict[str, Any] | bytes, event_id: str | None = None,
               secret: str = SECRET) -> tuple[dict[str, str], bytes]:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sign_body(secret, raw),
                   "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
                   "X-Shopify-Shop-Domain": "test-shop.myshopify.com",
                   "X-Shopify-API-Version": "2025-10"}
        return headers, raw

    def deliver(self, topic: str, body: dict[str, Any] | bytes, **kw: Any) -> Receipt:
        headers, raw = self.signed(topic, body, **kw)
        return self.deliver_raw(headers, raw)

    def deliver_raw(self, headers: dict[str, str], raw: bytes) -> Receipt:
        with self.hub.uow() as uow:
            receipt = receive(uow, self.hub.sources["shopify"], headers, raw, self.hub.clock())
            uow.commit()
        self.receipts.append(receipt)
        return receipt

    def process(self) -> ProcessStats:
        return self.hub.processor().run_until_idle()

    # -- reading the books and the stock ---------------------------------------------------

    def balances(self) -> dict[str, int]:
        with self.hub.uow() as uow:
            return {r["account"]: r["balance"] for r in queries.trial_balance(uow.conn)
                    if r["balance"]}

    def opening_total(self) -> int:
        """Total debits of the opening stock entries."""
        return sum(v for v in self.opening.values() if v > 0)

    def movement_balances(self) -> dict[str, int]:
        """Balances from entries that came from deliveries (opening stock left out)."""
        opening = self.opening
        return {a: b - opening.get(a, 0) for a, b in self.balances().items()
                if b - opening.get(a, 0)}

    def position(self, sku: str, location: str) -> tuple[int, int]:
        with self.hub.uow() as uow:
            p = uow.inventory.position(sku, location)
        return p.on_hand, p.reserved

    def atp(self, sku: str) -> dict[str, int]:
        with self.hub.uow() as uow:
            return queries.atp(uow.conn, sku, dict(self.hub.settings.rules().availability))

    def exceptions(self, status: str = "open") -> list[dict[str, Any]]:
        with self.hub.uow() as uow:
            return queries.list_exceptions(uow.conn, status)

    def inbox(self) -> dict[str, int]:
        with self.hub.uow() as uow:
            return queries.inbox_counts(uow.conn)

    opening: dict[str, int] = field(default_factory=dict)


def open_shop(db_url: str, stock: int = 10, recognise_at: str = "fulfilment",
              extra_config: str = "") -> Shop:
    """The shop on a fresh database; ``extra_config`` is appended to its retailhub.toml."""
    text = config_text(SECRET).replace('recognise_revenue_at = "fulfilment"',
                                       f'recognise_revenue_at = "{recognise_at}"')
    text += "\n" + extra_config
    settings = config.parse(tomllib.loads(text))
    hub = bootstrap(settings, db_url, clock=lambda: datetime.now(UTC))
    with hub.uow() as uow:
        uow.catalog.save_items(
            ((Item(sku, sku.title(), Money.of(cost, "USD")),
              {"variant": str(VARIANT[sku]), "inventory_item": str(50_000_000 + i)})
             for i, (sku, (_, cost)) in enumerate(CATALOG.items())), "shopify")
        rules = settings.rules()
        for sku in CATALOG:
            for location in ("WH", "STORE-1", "STORE-2"):
                receive_stock(uow, rules, sku, location, stock, T0 - timedelta(days=1),
                              f"opening:{sku}:{location}")
        uow.commit()
    shop = Shop(hub)
    shop.opening = shop.balances()
    return shop


def after(order: dict[str, Any], fulfilments: list[dict[str, Any]]) -> dict[str, Any]:
    """The order as Shopify shows it once ``fulfilments`` happened (for refund line items)."""
    from retailhub.demo.trading_day import order_payload_after

    return order_payload_after(order, fulfilments)


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


__all__ = ["CITY", "LOC", "STATE", "T0", "DiscountSpec", "Shop", "after", "cents", "open_shop"]
