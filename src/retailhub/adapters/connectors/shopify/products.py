"""Shopify product webhooks → the selling price each variant now has in Shopify.

A merchant who edits a price in the Shopify admin changes it only in Shopify. When retailhub
(or the ERP) owns prices, that edit must be noticed, not taken: this module reports every
variant's price as a ``PriceReported`` fact and the handler decides, with
``domain.pricing.price_change_decision``, whether to apply it, ignore it or reject it and push
the owner's price back.

Vendor facts this mapping relies on:

* ``products/update`` carries the whole product with its ``variants[]``; it does not say which
  field changed, and it also fires when only stock moved (community.shopify.com "Inventory
  Changes & Product Update Webhook Triggers", m-p/1099715). So most deliveries repeat the
  prices we already hold; the decision table's IGNORE_EQUAL exists for them.
* ``variants[].price`` and ``compare_at_price`` are decimal strings in the *shop* currency and
  the body names no currency: product webhooks carry shop-currency prices only
  (community.shopify.com "Not getting presentment prices from Webhook", m-p/665456; the REST
  ProductVariant reference). The shop currency is therefore a parameter.
* ``compare_at_price`` is null when unset; older shops send ``"0.00"`` for the same thing
  (community.shopify.com m-p/1062804 shows such a body), so zero is read as "none".
* ``sku`` may be null or ``""`` (the shopify.dev products/update sample has ``"sku": null``);
  the variant id is the reference that always resolves.
* Bodies have been seen without ``id`` or ``variants`` (m-p/1062804); a missing ``id`` fails
  decoding with its JSON path, missing variants report nothing.

Field list: shopify.dev webhook reference sample for products/create and products/update
(API 2024-10+: ``variant_gids``, ``has_variants_that_requires_components``), see
tests/fixtures/shopify/README.md.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from retailhub.adapters.connectors.shopify.errors import PayloadError, UnknownTopic
from retailhub.adapters.connectors.shopify.facts import SYSTEM, utc
from retailhub.domain.events import PriceReported
from retailhub.domain.money import Money, MoneyError, check_currency, to_minor
from retailhub.domain.orders import ExternalRef

PRODUCT_TOPICS: frozenset[str] = frozenset({"products/create", "products/update"})

# Shopify timestamps carry an offset ("2025-03-20T10:15:42-05:00"); a naive one is refused.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]


class _Shape(msgspec.Struct, kw_only=True):
    """Keyword-only; unknown fields ignored, so new Shopify fields never break decoding."""


class ProductVariant(_Shape):
    id: int
    price: Decimal  # a decimal string in the shop currency
    product_id: int | None = None
    sku: str | None = None
    compare_at_price: Decimal | None = None
    inventory_item_id: int | None = None
    updated_at: Timestamp | None = None


class Product(_Shape):
    id: int
    updated_at: Timestamp
    title: str | None = None
    variants: list[ProductVariant] = []


_DECODER = msgspec.json.Decoder(Product)


def translate_product(topic: str, body: bytes, *, currency: str) -> tuple[PriceReported, ...]:
    """One ``PriceReported`` per variant of a products/create or products/update body.

    ``currency`` is the shop currency (``[connectors.shopify]`` / the company currency).
    Raises ``PayloadError`` saying where (``$.variants[1].price``) when the body is unusable.
    """
    if topic not in PRODUCT_TOPICS:
        raise UnknownTopic(f"unknown Shopify product topic {topic!r}")
    code = check_currency(currency)  # a configuration error (MoneyError), not the body's
    try:
        product = _DECODER.decode(body)
    except msgspec.ValidationError as exc:  # message ends "- at `$.variants[0].price`"
        raise PayloadError(f"invalid {topic} body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PayloadError(f"{topic} body is not valid JSON: {exc}") from None
    return tuple(_report(product, v, i, code) for i, v in enumerate(product.variants))


def _report(product: Product, v: ProductVariant, i: int, currency: str) -> PriceReported:
    where = f"$.variants[{i}]"
    price = _money(v.price, currency, f"{where}.price")
    if price.amount < 0:
        raise PayloadError(f"negative price {v.price} at `{where}.price`")
    compare_at = None
    if v.compare_at_price is not None and v.compare_at_price != 0:  # "0.00" = none (legacy)
        compare_at = _money(v.compare_at_price, currency, f"{where}.compare_at_price")
    return PriceReported(
        channel_system=SYSTEM,
        variant=ExternalRef(SYSTEM, str(v.id)),
        sku=(v.sku or "").strip() or None,
        price=price,
        compare_at=compare_at,
        # The variant's own timestamp orders edits of that variant; the product's moves on
        # any edit of any variant, so it is only the fallback.
        updated_at=utc(v.updated_at or product.updated_at),
        product=ExternalRef(SYSTEM, str(v.product_id or product.id)),
    )


def _money(amount: Decimal, currency: str, where: str) -> Money:
    try:
        return Money(to_minor(amount, currency), currency)
    except MoneyError as exc:
        raise PayloadError(f"{exc} at `{where}`") from None
