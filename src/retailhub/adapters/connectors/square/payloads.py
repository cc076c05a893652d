"""Typed shapes of what Square sends us: webhook envelopes, payments, refunds and orders.

Only the fields the mapper reads are declared; msgspec ignores the rest, so a field added in a
later ``Square-Version`` never breaks decoding. Fields Square always sends on reads are required,
so a body missing them fails with msgspec's path message (``$.line_items[0].base_price_money``).

Money: every amount is ``{"amount": int, "currency": "USD"}`` in integer minor units
(developer.squareup.com/docs/build-basics/common-data-types/working-with-monetary-amounts), so a
JSON float in an amount is rejected rather than rounded. Quantities are decimal *strings*
("2", "1.250") and are parsed by the mapper, which says which line was fractional. Square omits
empty arrays instead of sending ``[]``, hence the ``[]`` defaults.
Field lists: Square API reference objects Payment, PaymentRefund, Order, OrderLineItem,
OrderReturn, Tender, Refund, Fulfillment and the webhook pages payment.created, refund.created,
order.updated (see tests/fixtures/square/README.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

# RFC 3339 with an offset ("2025-03-14T15:02:11.123Z"); a naive time would be ambiguous.
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]


class _Shape(msgspec.Struct, kw_only=True):
    """Base: keyword-only fields; unknown fields are ignored (msgspec's default)."""


class Money(_Shape):
    amount: int  # minor units; unsigned unless the field is documented as signed
    currency: str


# -- webhook envelopes -------------------------------------------------------------------------


class Envelope(_Shape):
    """The fields every notification shares; ``event_id`` is Square's dedup key
    (developer.squareup.com/docs/webhooks: "use the generated idempotency value that's included
    as the event_id field")."""

    event_id: str | None = None
    type: str | None = None
    merchant_id: str | None = None
    created_at: Timestamp | None = None


class Payment(_Shape):
    id: str
    created_at: Timestamp
    updated_at: Timestamp
    status: str  # APPROVED, PENDING, COMPLETED, CANCELED, FAILED
    amount_money: Money
    total_money: Money | None = None  # amount + tip: what is actually taken
    source_type: str | None = None  # CARD, CASH, EXTERNAL, WALLET, SQUARE_GIFT_CARD, …
    order_id: str | None = None
    location_id: str | None = None
    version_token: str | None = None


class PaymentObject(_Shape):
    payment: Payment


class PaymentData(_Shape):
    object: PaymentObject
    id: str | None = None
    type: str | None = None


class PaymentEvent(_Shape):
    data: PaymentData
    event_id: str | None = None
    type: str | None = None


class PaymentRefund(_Shape):
    id: str
    status: str  # PENDING, COMPLETED, REJECTED, FAILED
    amount_money: Money
    created_at: Timestamp
    updated_at: Timestamp
    payment_id: str | None = None
    order_id: str | None = None  # the *return* order Square creates for the refund
    location_id: str | None = None
    destination_type: str | None = None  # CARD, BANK_ACCOUNT, WALLET, CASH, EXTERNAL
    reason: str | None = None


class RefundObject(_Shape):
    refund: PaymentRefund


class RefundData(_Shape):
    object: RefundObject
    id: str | None = None
    type: str | None = None


class RefundEvent(_Shape):
    data: RefundData
    event_id: str | None = None
    type: str | None = None


class OrderStub(_Shape):
    """``order_created`` / ``order_updated`` / ``order_fulfillment_updated``: ids and state only.

    ``order_created`` carries no ``updated_at``; POS orders may carry no ``version`` (Square:
    "Orders that were not created through the API do not include a version number").
    """

    order_id: str
    location_id: str
    state: str | None = None
    version: int | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class OrderStubObject(_Shape):
    order_created: OrderStub | None = None
    order_updated: OrderStub | None = None
    order_fulfillment_updated: OrderStub | None = None


class OrderStubData(_Shape):
    object: OrderStubObject
    id: str | None = None
    type: str | None = None


class OrderEvent(_Shape):
    data: OrderStubData
    event_id: str | None = None
    type: str | None = None


# -- orders (RetrieveOrder / BatchRetrieveOrders / SearchOrders) ---------------------------------


class Source(_Shape):
    name: str | None = None


class AppliedDiscount(_Shape):
    discount_uid: str
    applied_money: Money
    uid: str | None = None


class AppliedTax(_Shape):
    tax_uid: str
    applied_money: Money
    uid: str | None = None


class Modifier(_Shape):
    base_price_money: Money | None = None
    quantity: str | None = None  # per unit of the line; "1" when absent
    name: str | None = None


class LineItem(_Shape):
    uid: str
    quantity: str
    base_price_money: Money
    name: str | None = None
    variation_name: str | None = None
    catalog_object_id: str | None = None
    item_type: str | None = None  # ITEM, CUSTOM_AMOUNT, GIFT_CARD
    modifiers: list[Modifier] = []
    applied_discounts: list[AppliedDiscount] = []
    applied_taxes: list[AppliedTax] = []
    total_money: Money | None = None


class Tax(_Shape):
    uid: str
    name: str | None = None
    type: str | None = None  # ADDITIVE, INCLUSIVE, UNKNOWN_TAX
    percentage: Decimal | None = None  # a decimal string: "8.875" means 8.875 %
    scope: str | None = None


class Discount(_Shape):
    uid: str
    name: str | None = None
    type: str | None = None
    scope: str | None = None


class FulfillmentEntry(_Shape):
    line_item_uid: str
    quantity: str


class PickupDetails(_Shape):
    picked_up_at: Timestamp | None = None


class ShipmentDetails(_Shape):
    shipped_at: Timestamp | None = None
    tracking_number: str | None = None


class DeliveryDetails(_Shape):
    completed_at: Timestamp | None = None


class Fulfillment(_Shape):
    uid: str
    type: str  # PICKUP, SHIPMENT, DELIVERY, IN_STORE
    state: str  # PROPOSED, RESERVED, PREPARED, COMPLETED, CANCELED, FAILED
    line_item_application: str | None = None  # ALL (default) or ENTRY_LIST
    entries: list[FulfillmentEntry] = []
    pickup_details: PickupDetails | None = None
    shipment_details: ShipmentDetails | None = None
    delivery_details: DeliveryDetails | None = None


class TenderCardDetails(_Shape):
    status: str | None = None  # AUTHORIZED, CAPTURED, VOIDED, FAILED


class Tender(_Shape):
    id: str
    type: str  # CARD, CASH, SQUARE_GIFT_CARD, WALLET, THIRD_PARTY_CARD, OTHER, …
    amount_money: Money  # includes tip_money
    payment_id: str | None = None
    card_details: TenderCardDetails | None = None


class TenderKind(_Shape):
    """Just enough of a tender to say how it was paid (read from a refund's source order)."""

    id: str
    type: str


class TendersOnly(_Shape):
    id: str
    tenders: list[TenderKind] = []


class OrderRefund(_Shape):
    """An ``Order.refunds[]`` entry (the ``Refund`` object), not a Refunds-API PaymentRefund."""

    id: str
    amount_money: Money
    status: str  # PENDING, APPROVED, REJECTED, FAILED
    tender_id: str | None = None  # the refunded tender, on the *source* order
    transaction_id: str | None = None  # the source order
    created_at: Timestamp | None = None
    reason: str | None = None


class ReturnLineItem(_Shape):
    quantity: str
    uid: str | None = None
    source_line_item_uid: str | None = None  # absent on custom-amount refunds
    name: str | None = None
    item_type: str | None = None
    catalog_object_id: str | None = None
    base_price_money: Money | None = None
    gross_return_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_money: Money | None = None


class Return(_Shape):
    uid: str | None = None
    source_order_id: str | None = None  # unset for unlinked returns
    return_line_items: list[ReturnLineItem] = []


class Order(_Shape):
    id: str
    location_id: str
    state: str  # OPEN, COMPLETED, CANCELED, DRAFT
    created_at: Timestamp
    updated_at: Timestamp
    total_money: Money
    version: int | None = None
    reference_id: str | None = None
    closed_at: Timestamp | None = None
    customer_id: str | None = None
    source: Source | None = None
    line_items: list[LineItem] = []
    taxes: list[Tax] = []
    discounts: list[Discount] = []
    fulfillments: list[Fulfillment] = []
    returns: list[Return] = []
    tenders: list[Tender] = []
    refunds: list[OrderRefund] = []
    net_amount_due_money: Money | None = None
