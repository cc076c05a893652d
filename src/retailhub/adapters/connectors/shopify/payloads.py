"""Typed shapes of the Shopify webhook bodies we subscribe to (REST Admin JSON).

Only the fields the mapper reads are declared; msgspec ignores the rest, so a new field in a
later API version never breaks decoding. Fields Shopify always sends for the resource are
required, so a body missing them fails with msgspec's path message (``$.line_items[0].price``).

Money: Shopify sends amounts as decimal strings (``"186.90"``) with a ``*_set`` sibling holding
shop and presentment money, except ``refund_line_items[].subtotal`` / ``.total_tax``, which are
JSON numbers (``143.97``) — msgspec decodes both straight into ``Decimal`` from the text,
never through ``float``. Tax ``rate`` is a JSON number too (``0.06``).
Field lists: shopify.dev REST Order / Refund / Fulfillment / InventoryLevel references and
Shopify/shopify_python_api ``test/fixtures/*.json`` (see tests/fixtures/shopify/README.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

# Shopify timestamps are ISO 8601 with an offset ("2024-09-09T12:36:31-05:00"); a naive one
# would be ambiguous, so it is rejected at decode time.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class _Shape(msgspec.Struct, kw_only=True):
    """Base: keyword-only fields; unknown fields are ignored (msgspec's default)."""


class Money(_Shape):
    amount: Decimal
    # ``currency_code`` everywhere except ``transactions[].total_unsettled_set``, which uses
    # ``currency`` (seen in a captured 2024 refunds/create body; vendor-formats.md §1).
    currency_code: str | None = None
    currency: str | None = None


class MoneySet(_Shape):
    # ``presentment_money`` (the customer's currency) is deliberately not declared: the books
    # are kept in shop money, and skipping it saves decoding a Decimal per amount.
    shop_money: Money


class TotalMoneySet(MoneySet):
    """The order total's set, whose presentment money is recorded on the order."""

    presentment_money: Money | None = None


class TaxLine(_Shape):
    title: str
    price: Decimal
    rate: Decimal
    price_set: MoneySet | None = None
    channel_liable: bool | None = None


class DiscountAllocation(_Shape):
    amount: Decimal
    discount_application_index: Count
    amount_set: MoneySet | None = None


class DiscountApplication(_Shape):
    type: str | None = None
    title: str | None = None
    code: str | None = None
    description: str | None = None
    value: Decimal | None = None
    value_type: str | None = None
    allocation_method: str | None = None
    target_selection: str | None = None
    target_type: str | None = None


class LineItem(_Shape):
    id: int
    title: str
    quantity: Count
    price: Decimal
    price_set: MoneySet | None = None
    sku: str | None = None
    variant_id: int | None = None
    product_id: int | None = None
    gift_card: bool = False
    requires_shipping: bool = True
    vendor: str | None = None  # the product's vendor: the brand dimension of revenue lines
    fulfillment_status: str | None = None
    discount_allocations: list[DiscountAllocation] = []
    tax_lines: list[TaxLine] = []


class ShippingLine(_Shape):
    id: int
    title: str
    price: Decimal
    price_set: MoneySet | None = None
    code: str | None = None
    source: str | None = None
    delivery_category: str | None = None
    carrier_identifier: str | None = None
    discount_allocations: list[DiscountAllocation] = []
    tax_lines: list[TaxLine] = []


class Customer(_Shape):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class Address(_Shape):
    address1: str | None = None
    city: str | None = None
    country_code: str | None = None


class FulfilledItem(_Shape):
    """A ``fulfillments[].line_items[]`` entry: the order line shape with the shipped quantity."""

    id: int
    quantity: Count


class Fulfillment(_Shape):
    id: int
    order_id: int
    status: str
    created_at: Timestamp
    line_items: list[FulfilledItem]
    location_id: int | None = None
    tracking_number: str | None = None
    name: str | None = None
    # The carrier's latest status ("in_transit", "delivered" …), sent on fulfillments/update.
    shipment_status: str | None = None
    updated_at: Timestamp | None = None


class RefundLineItem(_Shape):
    line_item_id: int
    quantity: Count
    restock_type: str
    subtotal: Decimal  # a JSON number in the payload
    total_tax: Decimal  # a JSON number in the payload
    id: int | None = None
    location_id: int | None = None
    subtotal_set: MoneySet | None = None
    total_tax_set: MoneySet | None = None
    line_item: LineItem | None = None


class Transaction(_Shape):
    id: int
    kind: str
    amount: Decimal
    status: str | None = None
    gateway: str | None = None
    currency: str | None = None
    parent_id: int | None = None
    total_unsettled_set: MoneySet | None = None


class OrderAdjustment(_Shape):
    kind: str
    amount: Decimal
    tax_amount: Decimal = Decimal(0)
    amount_set: MoneySet | None = None
    tax_amount_set: MoneySet | None = None
    id: int | None = None
    reason: str | None = None


class RefundShippingLine(_Shape):
    """2024-10+: shipping refunded per shipping line (shopify.dev changelog "Refunding orders
    with multiple shipping lines returns accurate data"; REST Refund example response)."""

    subtotal_amount_set: MoneySet | None = None
    tax_amount_set: MoneySet | None = None
    shipping_line_id: int | None = None
    id: int | None = None


class ReturnRef(_Shape):
    id: int


class Refund(_Shape):
    id: int
    order_id: int
    created_at: Timestamp
    refund_line_items: list[RefundLineItem]
    note: str | None = None
    return_: ReturnRef | None = msgspec.field(default=None, name="return")
    transactions: list[Transaction] = []
    order_adjustments: list[OrderAdjustment] = []
    refund_shipping_lines: list[RefundShippingLine] = []


class Order(_Shape):
    id: int
    name: str
    currency: str
    created_at: Timestamp
    updated_at: Timestamp
    total_price: Decimal
    line_items: list[LineItem]
    total_price_set: TotalMoneySet | None = None
    presentment_currency: str | None = None
    cancelled_at: Timestamp | None = None
    cancel_reason: str | None = None
    financial_status: str | None = None
    taxes_included: bool = False
    source_name: str | None = None
    location_id: int | None = None
    payment_gateway_names: list[str] = []
    customer: Customer | None = None
    shipping_address: Address | None = None
    shipping_lines: list[ShippingLine] = []
    discount_applications: list[DiscountApplication] = []
    fulfillments: list[Fulfillment] = []
    refunds: list[Refund] = []


class InventoryLevel(_Shape):
    inventory_item_id: int
    location_id: int
    available: int | None
    updated_at: Timestamp
