"""Shopify webhook bodies → canonical inbound events.

``translate(topic, body)`` decodes the raw bytes straight into the typed shapes of
``payloads`` and maps them onto the domain's dataclasses. Every data problem becomes a
``PayloadError`` whose message says where (msgspec's ``$.line_items[0].price`` path, or the
byte position of a JSON syntax error); the service layer turns it into an exception-queue item.

Amounts are shop money (``*_set.shop_money.amount`` when the set is present, else the plain
field) converted to integer minor units of the shop currency (``Order.currency``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from retailhub.adapters.connectors.shopify import facts
from retailhub.adapters.connectors.shopify import payloads as p
from retailhub.adapters.connectors.shopify.errors import PayloadError, UnknownTopic
from retailhub.adapters.connectors.shopify.facts import SYSTEM
from retailhub.adapters.connectors.shopify.products import PRODUCT_TOPICS, translate_product
from retailhub.domain.customers import ChannelIdentity, Customer
from retailhub.domain.events import (
    EventsReported,
    FulfilmentReported,
    InboundEvent,
    OrderReported,
    RefundReported,
)
from retailhub.domain.money import MoneyError, to_minor
from retailhub.domain.orders import (
    DeliveryMethod,
    ExternalRef,
    Order,
    OrderLine,
    PaymentStatus,
    ShippingLine,
)

__all__ = ["CHANNELS", "TOPICS", "PayloadError", "UnknownTopic", "translate"]

TOPICS: frozenset[str] = frozenset({
    "orders/create", "orders/updated", "orders/cancelled",
    "fulfillments/create", "fulfillments/update", "refunds/create", "inventory_levels/update",
}) | PRODUCT_TOPICS  # fmt: skip

# ``source_name`` → canonical channel. Shopify's values include "web", "pos",
# "shopify_draft_order", "iphone", "android" and numeric app ids; only POS is a store sale.
CHANNELS: Mapping[str, str] = {"pos": "pos"}
DEFAULT_CHANNEL = "web"

_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    t: msgspec.json.Decoder(t) for t in (p.Order, p.Fulfillment, p.Refund, p.InventoryLevel)
}


def _decode(topic: str, body: bytes, shape: type[Any]) -> Any:
    try:
        return _DECODERS[shape].decode(body)
    except msgspec.ValidationError as exc:  # message ends "- at `$.line_items[0].price`"
        raise PayloadError(f"invalid {topic} body: {exc}") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        if "truncated" in message:  # msgspec gives no position for truncation: it is the end
            message = f"{message} (byte {len(body)})"
        raise PayloadError(f"{topic} body is not valid JSON: {message}") from None


def translate(
    topic: str,
    body: bytes,
    *,
    channels: Mapping[str, str] | None = None,
    currency: str = "USD",
) -> InboundEvent:
    """Map one webhook delivery (``X-Shopify-Topic`` + raw body) to a canonical event.

    ``currency`` is the shop's: product bodies carry prices without one.
    """
    if topic not in TOPICS:
        raise UnknownTopic(f"unknown Shopify topic {topic!r}")
    if topic in PRODUCT_TOPICS:
        prices = translate_product(topic, body, currency=currency)
        return prices[0] if len(prices) == 1 else EventsReported(prices)
    try:
        if topic.startswith("orders/"):
            return _order_reported(_decode(topic, body, p.Order), channels or CHANNELS)
        if topic in ("fulfillments/create", "fulfillments/update"):
            return FulfilmentReported(SYSTEM, facts.fulfilment(_decode(topic, body, p.Fulfillment)))
        if topic == "refunds/create":
            refund = _decode(topic, body, p.Refund)
            return RefundReported(SYSTEM, facts.refund(refund, facts.refund_currency(refund)))
        return facts.inventory_level(_decode(topic, body, p.InventoryLevel))
    except MoneyError as exc:
        raise PayloadError(f"invalid {topic} body: {exc}") from None


# -- orders --------------------------------------------------------------------------------


def _order_reported(o: p.Order, channels: Mapping[str, str]) -> OrderReported:
    currency = facts.check_code(o.currency, "$.currency")
    presentment = (
        facts.check_code(o.presentment_currency, "$.presentment_currency")
        if o.presentment_currency
        else None
    )
    titles = [d.title or d.code or d.description or d.type or "" for d in o.discount_applications]
    order = Order(
        channel=channels.get(o.source_name or "", DEFAULT_CHANNEL),
        order_id=str(o.id),
        name=o.name,
        currency=currency,
        created_at=facts.utc(o.created_at),
        updated_at=facts.utc(o.updated_at),
        payment_status=_payment_status(o.financial_status),
        total_price=facts.shop_minor(o.total_price, o.total_price_set, currency),
        lines=tuple(_line(li, i, titles, currency) for i, li in enumerate(o.line_items)),
        shipping_lines=tuple(
            _shipping(s, i, titles, currency) for i, s in enumerate(o.shipping_lines)
        ),
        taxes_included=o.taxes_included,
        delivery=_delivery(o),
        gateway=o.payment_gateway_names[0] if o.payment_gateway_names else None,
        customer=_customer(o.customer),
        location=ExternalRef(SYSTEM, str(o.location_id)) if o.location_id is not None else None,
        presentment_currency=presentment,
        presentment_total=_presentment_total(o, presentment),
        cancelled_at=facts.utc(o.cancelled_at) if o.cancelled_at else None,
        cancel_reason=o.cancel_reason,
        source=SYSTEM,
    )
    shipped = {li.id: li.fulfillment_status for li in o.line_items}
    return OrderReported(
        order,
        fulfilments=tuple(facts.fulfilment(ff) for ff in o.fulfillments),
        refunds=tuple(facts.refund(r, currency, shipped.get) for r in o.refunds),
    )


def _presentment_total(o: p.Order, presentment: str | None) -> int | None:
    """The total in the customer's currency (``total_price_set.presentment_money``)."""
    money = o.total_price_set.presentment_money if o.total_price_set else None
    if presentment is None or money is None:
        return None
    code = money.currency_code or money.currency or presentment
    if code.upper() != presentment:
        raise PayloadError(
            f"total_price_set.presentment_money is in {code}, not the presentment currency "
            f"{presentment} - at `$.total_price_set.presentment_money`"
        )
    return to_minor(money.amount, presentment)


_PAYMENT_STATUSES: Mapping[str, PaymentStatus] = {s.value: s for s in PaymentStatus}


def _payment_status(financial_status: str | None) -> PaymentStatus:
    # A missing status, or one newer than our enum, is treated as not yet captured.
    return _PAYMENT_STATUSES.get(financial_status or "", PaymentStatus.PENDING)


def _line(li: p.LineItem, i: int, titles: list[str], currency: str) -> OrderLine:
    return OrderLine(
        line_id=str(li.id),
        sku=li.sku or None,  # Shopify sends "" for variants without a SKU
        title=li.title,
        quantity=li.quantity,
        unit_price=facts.shop_minor(li.price, li.price_set, currency),
        discounts=facts.discounts(li.discount_allocations, titles, currency, f"$.line_items[{i}]"),
        tax_lines=facts.tax_lines(li.tax_lines, currency),
        variant=ExternalRef(SYSTEM, str(li.variant_id)) if li.variant_id else None,
        gift_card=li.gift_card,
        requires_shipping=li.requires_shipping,
        brand=li.vendor or None,
    )


def _shipping(s: p.ShippingLine, i: int, titles: list[str], currency: str) -> ShippingLine:
    return ShippingLine(
        line_id=str(s.id),
        title=s.title,
        price=facts.shop_minor(
            s.price, s.price_set, currency
        ),  # undiscounted; discounts listed apart
        discounts=facts.discounts(
            s.discount_allocations, titles, currency, f"$.shipping_lines[{i}]"
        ),
        tax_lines=facts.tax_lines(s.tax_lines, currency),
    )


def _delivery(o: p.Order) -> DeliveryMethod:
    """How the goods reach the customer, as far as the order body tells.

    Shopify's REST order has no delivery-method field (the authoritative one is
    ``FulfillmentOrder.delivery_method.method_type == "pick_up"``, shopify.dev changelog
    "Delivery method property in the REST FulfillmentOrder resource", 2021-04). A native local
    pickup shows as a shipping line with ``source: "shopify"``, ``code`` and ``title`` set to
    the pickup location's name, price 0 and ``delivery_category: null``
    (community.shopify.com/t/…local-pickup-vs-local-delivery…/117153). Local delivery looks the
    same line-wise but always carries a ``shipping_address``; checkout collects none for
    pickup. So: Shopify-sourced shipping lines on a shippable order without a shipping address
    are a pickup. The legacy ``delivery_category: "pickup"`` is honoured when present.
    """
    if o.source_name == "pos":
        return DeliveryMethod.IN_STORE
    if any(s.delivery_category == "pickup" for s in o.shipping_lines):
        return DeliveryMethod.PICKUP
    shippable = any(li.requires_shipping for li in o.line_items)
    if not shippable and not o.shipping_lines:
        return DeliveryMethod.NONE
    if (
        shippable
        and o.shipping_address is None
        and o.shipping_lines
        and all(s.source == "shopify" for s in o.shipping_lines)
    ):
        return DeliveryMethod.PICKUP
    return DeliveryMethod.SHIP


def _customer(c: p.Customer | None) -> Customer | None:
    if c is None:
        return None
    name = " ".join(part for part in (c.first_name, c.last_name) if part) or None
    return Customer(ChannelIdentity(SYSTEM, str(c.id)), c.email, name)
