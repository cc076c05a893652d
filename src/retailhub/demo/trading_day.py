"""A realistic trading day as signed Shopify deliveries.

It includes the seed's story (an online order picked up in store, one item returned at a
different store, a partial refund to the original payment method), partial shipments,
cancellations, order-level discounts, two-rate sales tax, store (POS) sales, redeliveries
(duplicates), out-of-order arrival, and a handful of deliveries that must become exceptions.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson

from retailhub.adapters.connectors.shopify.signature import sign_body
from retailhub.demo.retailer import CURRENCY, SHOP_DOMAIN, SHOPIFY_LOCATIONS, STORE_NAMES, DemoItem
from retailhub.demo.shopify_payloads import (
    DiscountSpec,
    LineSpec,
    TaxRate,
    fulfillment_payload,
    inventory_level_payload,
    order_payload,
    refund_payload,
)

EASTERN = timezone(timedelta(hours=-5))
DAY = datetime(2026, 11, 20, 9, 0, tzinfo=EASTERN)
STATE_TAX = TaxRate("NY State Tax", Decimal("0.04"))
CITY_TAX = TaxRate("New York City Tax", Decimal("0.045"))
STORE_TAXES = (STATE_TAX, CITY_TAX)
API_VERSION = "2025-10"


def order_payload_after(
    order: dict[str, Any], fulfillments: list[dict[str, Any]]
) -> dict[str, Any]:
    """The order body with its line items marked fulfilled as Shopify shows them later."""
    shipped: dict[int, int] = {}
    for f in fulfillments:
        for li in f["line_items"]:
            shipped[li["id"]] = shipped.get(li["id"], 0) + li["quantity"]
    items = []
    for li in order["line_items"]:
        done = shipped.get(li["id"], 0)
        status = None if not done else ("fulfilled" if done >= li["quantity"] else "partial")
        items.append(
            {
                **li,
                "fulfillment_status": status,
                "fulfillable_quantity": max(0, li["quantity"] - done),
            }
        )
    return {**order, "line_items": items, "fulfillments": fulfillments}


@dataclass(frozen=True)
class Delivery:
    topic: str
    headers: dict[str, str]
    body: bytes

    def to_capture(self) -> dict[str, Any]:
        """The on-disk form `retailhub ingest` reads: headers plus the raw body, byte for byte."""
        return {"topic": self.topic, "headers": self.headers, "body": self.body.decode()}


@dataclass
class _Ids:
    rng: random.Random
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str, base: int) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return base + self.counters[kind]

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class _Event:
    at: datetime
    topic: str
    body: dict[str, Any] | bytes


class TradingDay:
    def __init__(self, items: list[DemoItem], secret: str, seed: int) -> None:
        self.items = items
        self.secret = secret
        self.rng = random.Random(seed)
        self.ids = _Ids(random.Random(seed + 1))
        self.events: list[_Event] = []
        self.number = 1000

    # -- orders ---------------------------------------------------------------------------

    def _lines(self, count: int) -> list[LineSpec]:
        picks = self.rng.sample(self.items, count)
        return [
            LineSpec(
                self.ids.next("line", 13_000_000_000),
                d.variant_id,
                d.item.sku,
                d.item.title,
                d.price,
                self.rng.choice([1, 1, 1, 2, 3]),
                STORE_TAXES,
            )
            for d in picks
        ]

    def _order(self, at: datetime, lines: list[LineSpec], **kw: Any) -> dict[str, Any]:
        self.number += 1
        kw.setdefault("customer_id", self.ids.next("customer", 7_000_000_000))
        return order_payload(
            order_id=self.ids.next("order", 5_000_000_000),
            number=self.number,
            created_at=at,
            updated_at=at,
            currency=CURRENCY,
            lines=lines,
            email=f"customer{self.number}@example.com",
            **kw,
        )

    def _emit(self, at: datetime, topic: str, body: dict[str, Any] | bytes) -> None:
        self.events.append(_Event(at, topic, body))

    def _fulfil(
        self, order: dict[str, Any], at: datetime, location: str, lines: list[tuple[int, int]]
    ) -> dict[str, Any]:
        f = fulfillment_payload(
            fulfillment_id=self.ids.next("fulfilment", 4_100_000_000),
            order=order,
            location_id=SHOPIFY_LOCATIONS[location],
            lines=lines,
            created_at=at,
            tracking_number=None if location != "WH" else f"1Z{self.rng.getrandbits(40):012X}",
        )
        self._emit(at, "fulfillments/create", f)
        return f

    def _refund(
        self,
        order: dict[str, Any],
        at: datetime,
        lines: list[tuple[int, int, str, int | None]],
        **kw: Any,
    ) -> dict[str, Any]:
        r = refund_payload(
            refund_id=self.ids.next("refund", 9_000_000_000),
            order=order,
            created_at=at,
            lines=lines,
            **kw,
        )
        self._emit(at, "refunds/create", r)
        return r

    def story(self, at: datetime) -> None:
        """The seed's story: buy online, pick up at Downtown, return one item at Riverside Mall."""
        lines = self._lines(2)
        lines = [
            LineSpec(s.line_id, s.variant_id, s.sku, s.title, s.price, 1, STORE_TAXES)
            for s in lines
        ]
        order = self._order(
            at,
            lines,
            pickup_location_name=STORE_NAMES["STORE-1"],
            discount=DiscountSpec("WELCOME10", Decimal(10)),
        )
        self._emit(at, "orders/create", order)
        picked = self._fulfil(
            order, at + timedelta(hours=3), "STORE-1", [(s.line_id, 1) for s in lines]
        )
        self._emit(
            at + timedelta(hours=3),
            "orders/updated",
            self._updated(order, at + timedelta(hours=3), fulfillments=[picked]),
        )
        self._refund(
            order_payload_after(order, [picked]),
            at + timedelta(hours=7),
            [(lines[0].line_id, 1, "return", SHOPIFY_LOCATIONS["STORE-2"])],
            note="Returned at Riverside Mall: wrong size",
        )

    def _updated(self, order: dict[str, Any], at: datetime, **kw: Any) -> dict[str, Any]:
        updated = dict(order)
        updated.update(kw)
        updated["updated_at"] = at.isoformat(timespec="seconds")
        if kw.get("fulfillments"):
            fulfilled = sum(li["quantity"] for f in kw["fulfillments"] for li in f["line_items"])
            ordered = sum(li["quantity"] for li in order["line_items"])
            updated["fulfillment_status"] = "fulfilled" if fulfilled >= ordered else "partial"
        return updated

    def web_order(self, at: datetime) -> None:
        lines = self._lines(self.rng.randint(1, 4))
        discount = DiscountSpec("FALL15", Decimal(15)) if self.rng.random() < 0.25 else None
        roll = self.rng.random()
        if roll < 0.15:  # click & collect
            store = self.rng.choice(["STORE-1", "STORE-2"])
            order = self._order(
                at, lines, pickup_location_name=STORE_NAMES[store], discount=discount
            )
            self._emit(at, "orders/create", order)
            self._fulfil(
                order, at + timedelta(hours=2), store, [(s.line_id, s.quantity) for s in lines]
            )
            return
        order = self._order(
            at, lines, discount=discount, shipping=Decimal("6.95"), shipping_tax_rates=STORE_TAXES
        )
        self._emit(at, "orders/create", order)
        if roll < 0.22:  # cancelled before shipping, refunded in full
            cancel_at = at + timedelta(minutes=40)
            refund = self._refund(
                order,
                cancel_at,
                [(s.line_id, s.quantity, "cancel", SHOPIFY_LOCATIONS["WH"]) for s in lines],
                shipping_refund=Decimal("6.95"),
            )
            self._emit(
                cancel_at,
                "orders/cancelled",
                self._updated(
                    order,
                    cancel_at,
                    cancelled_at=cancel_at.isoformat(),
                    cancel_reason="customer",
                    financial_status="refunded",
                    refunds=[refund],
                ),
            )
            return
        multi = [s for s in lines if s.quantity > 1]
        if roll < 0.40 and multi:  # partial shipment: one unit first, the rest later
            first = [(multi[0].line_id, 1)]
            rest = [(s.line_id, s.quantity - (1 if s is multi[0] else 0)) for s in lines]
            f1 = self._fulfil(order, at + timedelta(hours=1), "WH", first)
            self._emit(
                at + timedelta(hours=1),
                "orders/updated",
                self._updated(order, at + timedelta(hours=1), fulfillments=[f1]),
            )
            shipped = [f1, self._fulfil(order, at + timedelta(hours=5), "WH", rest)]
        else:
            shipped = [
                self._fulfil(
                    order, at + timedelta(hours=2), "WH", [(s.line_id, s.quantity) for s in lines]
                )
            ]
        if self.rng.random() < 0.12:  # one unit comes back to a store
            back = self.rng.choice(lines)
            store = self.rng.choice(["STORE-1", "STORE-2"])
            restock = self.rng.choice(["return", "return", "no_restock"])
            # The refund's line items show the order as it is then: fulfilled.
            current = order_payload_after(order, shipped)
            self._refund(
                current,
                at + timedelta(hours=8),
                [(back.line_id, 1, restock, SHOPIFY_LOCATIONS[store])],
            )

    def pos_order(self, at: datetime) -> None:
        store = self.rng.choice(["STORE-1", "STORE-2"])
        lines = self._lines(self.rng.randint(1, 3))
        gateway = self.rng.choice(["shopify_payments", "shopify_payments", "cash"])
        order = self._order(
            at,
            lines,
            source_name="pos",
            location_id=SHOPIFY_LOCATIONS[store],
            gateway=gateway,
            customer_id=None,
        )
        f = fulfillment_payload(
            fulfillment_id=self.ids.next("fulfilment", 4_100_000_000),
            order=order,
            location_id=SHOPIFY_LOCATIONS[store],
            lines=[(s.line_id, s.quantity) for s in lines],
            created_at=at,
        )
        order = self._updated(order, at, fulfillments=[f])
        self._emit(at, "orders/create", order)
        self._emit(at, "fulfillments/create", f)

    # -- deliveries that must become exceptions -------------------------------------------

    def troublemakers(self, at: datetime) -> None:
        ghost = LineSpec(
            self.ids.next("line", 13_000_000_000),
            99_999_999,
            "GHOST-TEE-M",
            "Limited tee (not in the item master)",
            Decimal("35.00"),
            1,
            STORE_TAXES,
        )
        self._emit(at, "orders/create", self._order(at, [ghost], shipping=Decimal("6.95")))
        broken = orjson.dumps(self._order(at, self._lines(1)))
        self._emit(at + timedelta(minutes=5), "orders/create", broken[: len(broken) // 2])
        d = self.items[0]
        self._emit(
            at + timedelta(minutes=9),
            "inventory_levels/update",
            inventory_level_payload(
                inventory_item_id=d.inventory_item_id,
                location_id=SHOPIFY_LOCATIONS["STORE-2"],
                available=999,
                updated_at=at + timedelta(minutes=9),
            ),
        )
        self._emit(
            at + timedelta(minutes=11),
            "inventory_levels/update",
            inventory_level_payload(
                inventory_item_id=88_888_888,
                location_id=SHOPIFY_LOCATIONS["WH"],
                available=4,
                updated_at=at + timedelta(minutes=11),
            ),
        )

    # -- the day as deliveries --------------------------------------------------------------

    def generate(self, orders: int) -> list[Delivery]:
        self.story(DAY + timedelta(minutes=5))
        span = 12 * 3600
        for n in range(max(0, orders - 1)):
            at = DAY + timedelta(seconds=int(span * (n + 1) / max(1, orders)))
            if self.rng.random() < 0.25:
                self.pos_order(at)
            else:
                self.web_order(at)
        self.troublemakers(DAY + timedelta(hours=6))
        self.events.sort(key=lambda e: e.at)
        deliveries = [self._sign(e) for e in self.events]
        deliveries = list(self._disorder(deliveries))
        deliveries.append(self._forged())
        return deliveries

    def _sign(self, e: _Event, secret: str | None = None) -> Delivery:
        body = e.body if isinstance(e.body, bytes) else orjson.dumps(e.body)
        headers = {
            "X-Shopify-Topic": e.topic,
            "X-Shopify-Hmac-Sha256": sign_body(secret or self.secret, body),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": self.ids.uuid(),
            "X-Shopify-Triggered-At": e.at.astimezone(UTC).isoformat(),
            "X-Shopify-Event-Id": self.ids.uuid(),
        }
        return Delivery(e.topic, headers, body)

    def _disorder(self, deliveries: list[Delivery]) -> Iterator[Delivery]:
        """Swap some deliveries with later ones and redeliver some (Shopify retries)."""
        out = list(deliveries)
        for i in range(len(out) - 1):
            if self.rng.random() < 0.08:
                j = min(len(out) - 1, i + self.rng.randint(1, 6))
                out[i], out[j] = out[j], out[i]
        for d in out:
            yield d
            if self.rng.random() < 0.05:
                again = dict(d.headers)
                again["X-Shopify-Webhook-Id"] = self.ids.uuid()  # new attempt, same event
                yield Delivery(d.topic, again, d.body)

    def _forged(self) -> Delivery:
        """A delivery signed with the wrong secret: must be refused and kept as an exception."""
        lines = self._lines(1)
        return self._sign(
            _Event(
                DAY + timedelta(hours=11),
                "orders/create",
                self._order(DAY + timedelta(hours=11), lines),
            ),
            secret="not-the-shop-secret",
        )
