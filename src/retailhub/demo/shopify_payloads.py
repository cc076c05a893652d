"""Builders of Shopify-shaped webhook bodies, computed the way Shopify computes them.

Pure functions returning dicts ready for ``orjson.dumps``, with the field layout of the
recorded fixtures in ``tests/fixtures/shopify/``. They do Shopify's arithmetic: an order-level
percentage discount allocated "across" lines by line subtotal with exact cents (largest
remainder), tax per line and rate rounded half-up to cents on the discounted line (or the
included portion when ``taxes_included``), order totals, refund lines prorated per unit.
Amounts are decimal strings with two decimals plus ``*_set`` siblings; presentment money equals
shop money. Refund-line ``subtotal`` / ``total_tax`` are JSON numbers, as Shopify sends them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from retailhub.domain.money import allocate, to_minor, units_share


@dataclass(frozen=True)
class TaxRate:
    title: str
    rate: Decimal


@dataclass(frozen=True)
class LineSpec:
    line_id: int
    variant_id: int
    sku: str
    title: str
    price: Decimal
    quantity: int
    tax_rates: tuple[TaxRate, ...] = ()
    requires_shipping: bool = True
    gift_card: bool = False


@dataclass(frozen=True)
class DiscountSpec:
    """An order-level percentage discount, allocated across all lines ("across")."""

    title: str
    percentage: Decimal


def _ts(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("Shopify timestamps carry an offset: pass an aware datetime")
    return moment.isoformat(timespec="seconds")


def _str(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):.2f}"


def _set(cents: int, currency: str) -> dict[str, Any]:
    money = {"amount": _str(cents), "currency_code": currency}
    return {"shop_money": money, "presentment_money": dict(money)}


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _taxes(net: int, rates: Sequence[TaxRate], included: bool) -> list[int]:
    """Tax per rate on ``net`` cents: added on top, or the portion already inside ``net``."""
    if not included:
        return [_round(net * r.rate) for r in rates]
    whole = 1 + sum((r.rate for r in rates), Decimal(0))
    return [_round(net * r.rate / whole) for r in rates]


def _tax_lines(amounts: list[int], rates: Sequence[TaxRate], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "channel_liable": False,
            "price": _str(c),
            "price_set": _set(c, currency),
            "rate": float(r.rate),
            "title": r.title,
        }
        for c, r in zip(amounts, rates, strict=True)
    ]


def _allocation(cents: int, currency: str) -> dict[str, Any]:
    return {
        "amount": _str(cents),
        "amount_set": _set(cents, currency),
        "discount_application_index": 0,
    }


def order_payload(
    *,
    order_id: int,
    number: int,
    created_at: datetime,
    updated_at: datetime,
    currency: str,
    lines: Sequence[LineSpec],
    shipping: Decimal | None = None,
    shipping_tax_rates: tuple[TaxRate, ...] = (),
    shipping_title: str = "Standard",
    pickup_location_name: str | None = None,
    discount: DiscountSpec | None = None,
    taxes_included: bool = False,
    financial_status: str = "paid",
    source_name: str = "web",
    location_id: int | None = None,
    gateway: str = "shopify_payments",
    customer_id: int | None = None,
    email: str | None = None,
    cancelled_at: datetime | None = None,
    cancel_reason: str | None = None,
    fulfillments: Sequence[dict[str, Any]] = (),
    refunds: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """An orders/create (or updated/cancelled) body."""
    gross = [to_minor(s.price, currency) * s.quantity for s in lines]
    pct = discount.percentage if discount else Decimal(0)
    allocations = allocate(_round(sum(gross) * pct / 100), gross) if gross else []
    fulfilled = _counts(f["line_items"] for f in fulfillments)
    refunded = _counts(r["refund_line_items"] for r in refunds)
    line_items: list[dict[str, Any]] = []
    order_taxes: dict[tuple[str, Decimal], int] = {}
    for spec, g, alloc in zip(lines, gross, allocations, strict=True):
        taxes = _taxes(g - alloc, spec.tax_rates, taxes_included)
        for rate, cents in zip(spec.tax_rates, taxes, strict=True):
            order_taxes[(rate.title, rate.rate)] = (
                order_taxes.get((rate.title, rate.rate), 0) + cents
            )
        line_items.append(
            _line_item(
                spec,
                currency,
                taxes,
                alloc if discount else None,
                fulfilled.get(spec.line_id, 0),
                refunded.get(spec.line_id, 0),
            )
        )
    ship_cents = to_minor(shipping, currency) if shipping is not None else 0
    ship_taxes = _taxes(ship_cents, shipping_tax_rates, taxes_included)
    for rate, cents in zip(shipping_tax_rates, ship_taxes, strict=True):
        order_taxes[(rate.title, rate.rate)] = order_taxes.get((rate.title, rate.rate), 0) + cents
    shipping_lines = []
    if shipping is not None or pickup_location_name is not None:
        # Native local pickup: a Shopify-sourced line coded and titled with the pickup
        # location's name, and no shipping address on the order (community.shopify.com 117153).
        title = pickup_location_name or shipping_title
        shipping_lines.append(
            {
                "id": order_id + 900_000,
                "carrier_identifier": None,
                "code": title,
                "discounted_price": _str(ship_cents),
                "discounted_price_set": _set(ship_cents, currency),
                "is_removed": False,
                "phone": None,
                "price": _str(ship_cents),
                "price_set": _set(ship_cents, currency),
                "requested_fulfillment_service_id": None,
                "source": "shopify",
                "title": title,
                "delivery_category": None,
                "tax_lines": _tax_lines(ship_taxes, shipping_tax_rates, currency),
                "discount_allocations": [],
            }
        )
    discounts = sum(allocations)
    subtotal = sum(gross) - discounts
    total_tax = sum(order_taxes.values())
    total = subtotal + ship_cents + (0 if taxes_included else total_tax)
    refunded_lines = sum(_refund_line_total(r, taxes_included) for r in refunds)
    refunded_shipping = sum(
        -_shop_cents(a["amount_set"]) - (0 if taxes_included else _shop_cents(a["tax_amount_set"]))
        for r in refunds
        for a in r["order_adjustments"]
        if a["kind"] == "shipping_refund"
    )
    refund_items = [li for r in refunds for li in r["refund_line_items"]]
    refunded_tax = sum(_shop_cents(li["total_tax_set"]) for li in refund_items)
    refunded_sub = sum(_shop_cents(li["subtotal_set"]) for li in refund_items)
    shippable = any(s.requires_shipping for s in lines)
    name = f"#{number}"
    customer = (
        None
        if customer_id is None
        else {
            "id": customer_id,
            "email": email,
            "first_name": "Demo",
            "last_name": f"Customer {customer_id % 1000}",
            "currency": currency,
            "tags": "",
            "tax_exempt": False,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
        }
    )
    address = (
        None
        if not shippable or pickup_location_name or source_name == "pos"
        else {
            "first_name": "Demo",
            "last_name": "Customer",
            "address1": "1 Example Street",
            "address2": None,
            "city": "Springfield",
            "province": "Illinois",
            "province_code": "IL",
            "zip": "62701",
            "country": "United States",
            "country_code": "US",
            "phone": None,
            "company": None,
        }
    )
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": 129785 if source_name == "pos" else 580111,
        "browser_ip": None,
        "buyer_accepts_marketing": False,
        "cancel_reason": cancel_reason,
        "cancelled_at": _ts(cancelled_at) if cancelled_at else None,
        "cart_token": None,
        "checkout_id": None,
        "checkout_token": None,
        "closed_at": None,
        "confirmed": True,
        "confirmation_number": f"DEMO{number:05d}",
        "contact_email": email,
        "created_at": _ts(created_at),
        "currency": currency,
        "presentment_currency": currency,
        "current_subtotal_price": _str(subtotal - refunded_sub),
        "current_subtotal_price_set": _set(subtotal - refunded_sub, currency),
        "current_total_discounts": _str(discounts),
        "current_total_discounts_set": _set(discounts, currency),
        "current_total_price": _str(total - refunded_lines - refunded_shipping),
        "current_total_price_set": _set(total - refunded_lines - refunded_shipping, currency),
        "current_total_tax": _str(total_tax - refunded_tax),
        "current_total_tax_set": _set(total_tax - refunded_tax, currency),
        "current_shipping_price_set": _set(ship_cents, currency),
        "customer_locale": "en",
        "device_id": None,
        "discount_codes": [],
        "duties_included": False,
        "email": email or "",
        "estimated_taxes": False,
        "financial_status": financial_status,
        "fulfillment_status": _order_fulfilment(lines, fulfilled),
        "landing_site": None,
        "location_id": location_id,
        "name": name,
        "note": None,
        "note_attributes": [],
        "number": number - 1000 if number > 1000 else number,
        "order_number": number,
        "order_status_url": None,
        "payment_gateway_names": [gateway],
        "phone": None,
        "po_number": None,
        "processed_at": _ts(created_at),
        "reference": None,
        "source_identifier": None,
        "source_name": source_name,
        "subtotal_price": _str(subtotal),
        "subtotal_price_set": _set(subtotal, currency),
        "tags": "",
        "tax_exempt": False,
        "tax_lines": _tax_lines(
            list(order_taxes.values()), [TaxRate(t, r) for t, r in order_taxes], currency
        ),
        "taxes_included": taxes_included,
        "test": False,
        "token": f"demo{order_id:x}",
        "total_discounts": _str(discounts),
        "total_discounts_set": _set(discounts, currency),
        "total_line_items_price": _str(sum(gross)),
        "total_line_items_price_set": _set(sum(gross), currency),
        "total_outstanding": "0.00",
        "total_price": _str(total),
        "total_price_set": _set(total, currency),
        "total_shipping_price_set": _set(ship_cents, currency),
        "total_tax": _str(total_tax),
        "total_tax_set": _set(total_tax, currency),
        "total_tip_received": "0.00",
        "total_weight": 0,
        "updated_at": _ts(updated_at),
        "user_id": None,
        "billing_address": address,
        "customer": customer,
        "discount_applications": []
        if discount is None
        else [
            {
                "target_type": "line_item",
                "type": "manual",
                "value": f"{discount.percentage:.1f}",
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "title": discount.title,
                "description": discount.title,
            }
        ],
        "fulfillments": list(fulfillments),
        "line_items": line_items,
        "payment_terms": None,
        "refunds": list(refunds),
        "shipping_address": address,
        "shipping_lines": shipping_lines,
    }


def _counts(groups: Any) -> dict[int, int]:
    out: dict[int, int] = {}
    for items in groups:
        for item in items:
            key = item.get("line_item_id", item.get("id"))
            out[key] = out.get(key, 0) + item["quantity"]
    return out


def _order_fulfilment(lines: Sequence[LineSpec], fulfilled: dict[int, int]) -> str | None:
    done = [fulfilled.get(s.line_id, 0) for s in lines]
    if not any(done):
        return None
    return (
        "fulfilled" if all(d >= s.quantity for d, s in zip(done, lines, strict=True)) else "partial"
    )


def _line_item(
    spec: LineSpec,
    currency: str,
    taxes: list[int],
    alloc: int | None,
    fulfilled: int,
    refunded: int,
) -> dict[str, Any]:
    price = to_minor(spec.price, currency)
    status = None if not fulfilled else ("fulfilled" if fulfilled >= spec.quantity else "partial")
    return {
        "id": spec.line_id,
        "admin_graphql_api_id": f"gid://shopify/LineItem/{spec.line_id}",
        "attributed_staffs": [],
        "current_quantity": spec.quantity - refunded,
        "fulfillable_quantity": max(spec.quantity - fulfilled - refunded, 0),
        "fulfillment_service": "manual",
        "fulfillment_status": status,
        "gift_card": spec.gift_card,
        "grams": 0 if spec.gift_card else 250,
        "name": spec.title,
        "price": _str(price),
        "price_set": _set(price, currency),
        "product_exists": True,
        "product_id": spec.variant_id // 10,
        "properties": [],
        "quantity": spec.quantity,
        "requires_shipping": spec.requires_shipping,
        "sku": spec.sku,
        "taxable": bool(spec.tax_rates),
        "title": spec.title,
        "total_discount": "0.00",
        "total_discount_set": _set(0, currency),
        "variant_id": spec.variant_id,
        "variant_inventory_management": "shopify",
        "variant_title": None,
        "vendor": "Demo Outfitters",
        "duties": [],
        "tax_lines": _tax_lines(taxes, spec.tax_rates, currency),
        "discount_allocations": [] if alloc is None else [_allocation(alloc, currency)],
    }


def fulfillment_payload(
    *,
    fulfillment_id: int,
    order: dict[str, Any],
    location_id: int,
    lines: Sequence[tuple[int, int]],
    created_at: datetime,
    status: str = "success",
    tracking_number: str | None = None,
) -> dict[str, Any]:
    """A fulfillments/create body; ``lines`` are (line_item_id, quantity) of ``order``."""
    by_id = {li["id"]: li for li in order["line_items"]}
    items = [{**copy.deepcopy(by_id[line_id]), "quantity": qty} for line_id, qty in lines]
    return {
        "id": fulfillment_id,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
        "created_at": _ts(created_at),
        "location_id": location_id,
        "name": f"{order['name']}.{len(order.get('fulfillments', [])) + 1}",
        "order_id": order["id"],
        "origin_address": {},
        "receipt": {},
        "service": "manual",
        "shipment_status": None,
        "status": status,
        "tracking_company": "UPS" if tracking_number else None,
        "tracking_number": tracking_number,
        "tracking_numbers": [tracking_number] if tracking_number else [],
        "tracking_url": None,
        "tracking_urls": [],
        "updated_at": _ts(created_at),
        "line_items": items,
    }


def refund_payload(
    *,
    refund_id: int,
    order: dict[str, Any],
    created_at: datetime,
    lines: Sequence[tuple[int, int, str, int | None]],
    transactions: Sequence[tuple[int, str, Decimal]] | None = None,
    shipping_refund: Decimal = Decimal(0),
    note: str | None = None,
) -> dict[str, Any]:
    """A refunds/create body; ``lines`` are (line_item_id, quantity, restock_type, location_id).

    Each refund line carries its units' share of the line's discounted subtotal and tax
    (``units_share``, so slices of one line in one refund sum exactly). ``transactions`` of
    None refund the computed total to the order's first gateway.
    """
    cur, included = order["currency"], order["taxes_included"]
    by_id = {li["id"]: li for li in order["line_items"]}
    taken: dict[int, int] = {}
    refund_lines = []
    for n, (line_id, qty, restock_type, location_id) in enumerate(lines):
        li = by_id[line_id]
        discounted = sum(to_minor(a["amount"], cur) for a in li["discount_allocations"])
        net = to_minor(li["price"], cur) * li["quantity"] - discounted
        tax = sum(to_minor(t["price"], cur) for t in li["tax_lines"])
        already = taken.get(line_id, 0)
        sub = units_share(net, qty, li["quantity"], already)
        line_tax = units_share(tax, qty, li["quantity"], already)
        taken[line_id] = already + qty
        refund_lines.append(
            {
                "id": refund_id * 10 + n,
                "line_item_id": line_id,
                "location_id": location_id,
                "quantity": qty,
                "restock_type": restock_type,
                "subtotal": float(Decimal(sub).scaleb(-2)),
                "subtotal_set": _set(sub, cur),
                "total_tax": float(Decimal(line_tax).scaleb(-2)),
                "total_tax_set": _set(line_tax, cur),
                "line_item": copy.deepcopy(li),
            }
        )
    ship_cents = to_minor(shipping_refund, cur)
    ship_rates = [
        TaxRate(t["title"], Decimal(str(t["rate"])))
        for s in order["shipping_lines"]
        for t in s["tax_lines"]
    ]
    ship_tax = sum(_taxes(ship_cents, ship_rates, included)) if ship_cents else 0
    adjustments, shipping_lines = [], []
    if ship_cents:
        shipping_line = order["shipping_lines"][0]
        adjustments.append(
            {
                "id": refund_id + 7,
                "order_id": order["id"],
                "refund_id": refund_id,
                "amount": _str(-ship_cents),
                "amount_set": _set(-ship_cents, cur),
                "tax_amount": _str(-ship_tax),
                "tax_amount_set": _set(-ship_tax, cur),
                "kind": "shipping_refund",
                "reason": "Shipping refund",
            }
        )
        # 2024-10+: the same shipping refund is also listed per shipping line (REST Refund docs).
        shipping_lines.append(
            {
                "id": refund_id + 8,
                "shipping_line_id": shipping_line["id"],
                "subtotal_amount_set": _set(ship_cents, cur),
                "shipping_line": copy.deepcopy(shipping_line),
            }
        )
    total = _refund_line_total({"refund_line_items": refund_lines}, included)
    total += ship_cents + (0 if included else ship_tax)
    gateway = (order.get("payment_gateway_names") or ["manual"])[0]
    txs = transactions
    if txs is None:
        txs = [(refund_id + 1, gateway, Decimal(total).scaleb(-2))]
    return {
        "id": refund_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "order_id": order["id"],
        "created_at": _ts(created_at),
        "processed_at": _ts(created_at),
        "note": note,
        "user_id": None,
        "restock": any(r["restock_type"] in ("return", "cancel") for r in refund_lines),
        "duties": [],
        "total_duties_set": _set(0, cur),
        "additional_fees": [],
        "total_additional_fees_set": _set(0, cur),
        "return": None,
        "refund_shipping_lines": shipping_lines,
        "order_adjustments": adjustments,
        "refund_line_items": refund_lines,
        "transactions": [
            _refund_transaction(order, tx_id, gw, amount, created_at) for tx_id, gw, amount in txs
        ],
    }


def _shop_cents(money_set: dict[str, Any]) -> int:
    return to_minor(money_set["shop_money"]["amount"], money_set["shop_money"]["currency_code"])


def _refund_line_total(refund: dict[str, Any], included: bool) -> int:
    """What a refund's lines give back: subtotal, plus tax unless it was already inside."""
    return sum(
        _shop_cents(li["subtotal_set"]) + (0 if included else _shop_cents(li["total_tax_set"]))
        for li in refund["refund_line_items"]
    )


def _refund_transaction(
    order: dict[str, Any], tx_id: int, gateway: str, amount: Decimal, at: datetime
) -> dict[str, Any]:
    cur = order["currency"]
    unsettled = {"amount": "0.0", "currency": cur}  # "currency", not "currency_code": a quirk
    return {
        "id": tx_id,
        "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{tx_id}",
        "amount": f"{Decimal(amount):.2f}",
        "amount_rounding": None,
        "authorization": None,
        "created_at": _ts(at),
        "currency": cur,
        "currency_exchange_adjustment": None,
        "device_id": None,
        "error_code": None,
        "gateway": gateway,
        "kind": "refund",
        "location_id": order.get("location_id"),
        "manual_payment_gateway": gateway in ("cash", "manual"),
        "message": "Transaction approved",
        "order_id": order["id"],
        "parent_id": None,
        "payment_id": f"{order['confirmation_number']}.r{tx_id % 100}",
        "processed_at": _ts(at),
        "receipt": {},
        "source_name": order["source_name"],
        "status": "success",
        "test": False,
        "total_unsettled_set": {
            "presentment_money": dict(unsettled),
            "shop_money": dict(unsettled),
        },
        "user_id": None,
    }


def inventory_level_payload(
    *, inventory_item_id: int, location_id: int, available: int, updated_at: datetime
) -> dict[str, Any]:
    """An inventory_levels/update body (shape of shopify_python_api's inventory_level.json)."""
    return {
        "inventory_item_id": inventory_item_id,
        "location_id": location_id,
        "available": available,
        "updated_at": _ts(updated_at),
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}",
    }
