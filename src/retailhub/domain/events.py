"""Canonical inbound events: what a connector's mapper produces from a vendor payload.

Events are past tense facts as a channel reported them. They still carry external references
(variant ids, location ids); the handlers resolve those against the master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from retailhub.domain.orders import ExternalRef, Fulfilment, Order
from retailhub.domain.payments import ExpectedReceipt
from retailhub.domain.returns import Refund
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


@dataclass(frozen=True, slots=True)
class SettlementReported:
    """A payout fetched from a gateway's API (Stripe payouts with their balance transactions)."""

    settlement: Settlement


InboundEvent = (
    OrderReported
    | FulfilmentReported
    | RefundReported
    | InventoryLevelReported
    | PaymentReported
    | SettlementReported
)
