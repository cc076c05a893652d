"""Canonical inbound events: what a connector's mapper produces from a vendor payload.

Events are past tense facts as a channel reported them. They still carry external references
(variant ids, location ids); the handlers resolve those against the master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from retailhub.domain.money import Money
from retailhub.domain.orders import ExternalRef, Fulfilment, Order, TaxLine
from retailhub.domain.payments import ExpectedReceipt
from retailhub.domain.returns import Disposition, Refund, RefundTender
from retailhub.domain.settlements import Settlement


@dataclass(frozen=True, slots=True)
class OrderReported:
    """A snapshot of an order (created, updated or cancelled) with the facts embedded in it."""

    order: Order
    fulfilments: tuple[Fulfilment, ...] = ()
    refunds: tuple[Refund, ...] = ()


@dataclass(frozen=True, slots=True)
class FulfilmentReported:
    channel_system: str
    fulfilment: Fulfilment


@dataclass(frozen=True, slots=True)
class RefundReported:
    channel_system: str
    refund: Refund


@dataclass(frozen=True, slots=True)
class InventoryLevelReported:
    """A channel's own figure for what is available of an item at one of its locations."""

    item: ExternalRef
    location: ExternalRef
    available: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentReported:
    """A gateway's own report of money moving (a Stripe charge, a Square refund, a dispute).

    ``order`` is the channel order it belongs to when the gateway says (Stripe metadata, a
    Square payment's ``order_id``); ``updated_at`` orders successive reports of one payment.
    """

    receipt: ExpectedReceipt
    order: ExternalRef | None
    updated_at: datetime
    status: str = "succeeded"  # the gateway's status; only settled-bound ones are expected
    # The payment a refund or dispute is against (a Stripe ``ch_…``), which names the order
    # when the report itself does not.
    against: str | None = None


@dataclass(frozen=True, slots=True)
class SettlementReported:
    """A payout fetched from a gateway's API (Stripe payouts with their balance transactions)."""

    settlement: Settlement


@dataclass(frozen=True, slots=True)
class SaleVoided:
    """A register voided a sale it had completed: goods back on the shelf, tenders reversed."""

    channel_system: str
    order_id: str
    void_id: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnedItem:
    sku: str
    quantity: int
    unit_price: int  # what the register refunds per unit, before tax
    tax_lines: tuple[TaxLine, ...] = ()
    disposition: Disposition = Disposition.RESTOCK


@dataclass(frozen=True, slots=True)
class UnlinkedReturnReported:
    """A store return whose original sale the hub does not know, accepted by policy (flagged)."""

    channel: str
    return_id: str
    location: ExternalRef
    register: str
    currency: str
    occurred_at: datetime
    items: tuple[ReturnedItem, ...]
    tenders: tuple[RefundTender, ...]
    original_ref: str | None = None  # the receipt number the customer showed, if any
    taxes_included: bool = False


@dataclass(frozen=True, slots=True)
class CashMovementReported:
    """Cash put into (paid in, + amount) or taken out of (paid out, − amount) a drawer."""

    location: ExternalRef
    register: str
    movement_id: str
    amount: int
    currency: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class DrawerCounted:
    """The end-of-day cash count of a register drawer; any over/short is booked against it."""

    location: ExternalRef
    register: str
    count_id: str
    counted: int  # all cash found in the drawer, float included
    opening_float: int  # the float the drawer started the day with
    currency: str
    business_day: date
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PriceReported:
    """A channel's own selling price for one of its variants, as it stood at ``updated_at``."""

    channel_system: str  # "shopify"
    variant: ExternalRef  # resolves to a SKU through the item master's "variant" identity
    sku: str | None  # the SKU the channel shows, when it has one; the variant ref is the key
    price: Money
    compare_at: Money | None  # the struck-through "was" price; None when unset
    updated_at: datetime  # UTC; orders successive reports of one variant (stale ones lose)
    product: ExternalRef | None = None


@dataclass(frozen=True, slots=True)
class EventsReported:
    """Several facts carried by one delivery, applied in order in the same transaction.

    A POS exchange is a return plus a new sale; a Square order can carry returns of another
    order's lines as well as sales of its own.
    """

    events: tuple[InboundEvent, ...]


InboundEvent = (
    OrderReported
    | FulfilmentReported
    | RefundReported
    | InventoryLevelReported
    | PaymentReported
    | SettlementReported
    | SaleVoided
    | UnlinkedReturnReported
    | CashMovementReported
    | DrawerCounted
    | PriceReported
    | EventsReported
)
