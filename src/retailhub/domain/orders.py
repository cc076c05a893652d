"""Orders and fulfilments as the channel told them, in canonical form.

An order line carries its allocated discounts and its own tax lines; the order's shipping
lines carry theirs. Amounts are minor units in the order's (shop) currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from retailhub.domain.customers import Customer
from retailhub.domain.payments import Tender


class PaymentStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"

    @property
    def captured(self) -> bool:
        """Money has been taken from the customer (refunds are separate facts)."""
        return self in (
            PaymentStatus.PAID,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
        )


class DeliveryMethod(StrEnum):
    SHIP = "ship"  # shipped to the customer
    PICKUP = "pickup"  # bought online, picked up in store (BOPIS)
    IN_STORE = "in_store"  # sold at a register, carried out
    NONE = "none"  # nothing to deliver (gift cards, services)


@dataclass(frozen=True, slots=True)
class ExternalRef:
    """An id in another system: ("shopify", "905684977")."""

    system: str
    id: str


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax charged in one jurisdiction (Shopify's ``title``) at ``rate``."""

    jurisdiction: str
    rate: Decimal
    amount: int


@dataclass(frozen=True, slots=True)
class DiscountAllocation:
    amount: int
    title: str


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_id: str
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    discounts: tuple[DiscountAllocation, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()
    variant: ExternalRef | None = None
    gift_card: bool = False
    requires_shipping: bool = True
    brand: str | None = None  # the product's brand (Shopify's ``vendor``): a ledger dimension

    @property
    def gross(self) -> int:
        return self.unit_price * self.quantity

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def tax(self) -> int:
        return sum(t.amount for t in self.tax_lines)


@dataclass(frozen=True, slots=True)
class ShippingLine:
    line_id: str
    title: str
    price: int
    discounts: tuple[DiscountAllocation, ...] = ()
    tax_lines: tuple[TaxLine, ...] = ()

    @property
    def discount(self) -> int:
        return sum(d.amount for d in self.discounts)

    @property
    def tax(self) -> int:
        return sum(t.amount for t in self.tax_lines)


@dataclass(frozen=True, slots=True)
class Order:
    """A snapshot of an order at ``updated_at``; a newer snapshot replaces an older one."""

    channel: str
    order_id: str
    name: str
    currency: str
    created_at: datetime
    updated_at: datetime
    payment_status: PaymentStatus
    total_price: int
    lines: tuple[OrderLine, ...]
    shipping_lines: tuple[ShippingLine, ...] = ()
    taxes_included: bool = False
    delivery: DeliveryMethod = DeliveryMethod.SHIP
    gateway: str | None = None
    customer: Customer | None = None
    location: ExternalRef | None = None
    # The customer's currency and what they paid in it, when the channel shows prices in
    # another currency than the shop's (Shopify's presentment money). Informational: the books
    # are kept in ``currency`` (shop money); see docs/multi-currency.md.
    presentment_currency: str | None = None
    presentment_total: int | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    source: str = "shopify"
    # How it was paid, when the channel says (POS split tenders, Square tenders); empty means
    # one payment through ``gateway`` for the captured amount.
    tenders: tuple[Tender, ...] = ()
    # The sale this one was exchanged from (a POS exchange: a return plus a new sale).
    exchanged_from: str | None = None
    register: str | None = None  # the till that rang up a store sale

    def line(self, line_id: str) -> OrderLine | None:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        return None


class FulfilmentKind(StrEnum):
    SHIPMENT = "shipment"
    PICKUP = "pickup"
    SHIP_FROM_STORE = "ship_from_store"


@dataclass(frozen=True, slots=True)
class FulfilmentLine:
    line_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """Goods leaving a location for the customer: shipped, handed over at pickup, or partial."""

    fulfilment_id: str
    order_id: str
    kind: FulfilmentKind
    location: ExternalRef | None
    lines: tuple[FulfilmentLine, ...]
    occurred_at: datetime
    status: str = "success"
    tracking_number: str | None = None
    shipment_status: str | None = None  # the carrier's: "in_transit", "delivered" …
    delivered_at: datetime | None = None  # when the carrier reported it delivered

    @property
    def delivered(self) -> bool:
        return self.delivered_at is not None

    @property
    def counts(self) -> bool:
        """Only successful fulfilments move stock and recognise revenue."""
        return self.status in ("success", "open", "pending")
