"""Canonical inbound events: what a connector's mapper produces from a vendor payload.

Events are past tense facts as a channel reported them. They still carry external references
(variant ids, location ids); the handlers resolve those against the master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from retailhub.domain.orders import ExternalRef, Fulfilment, Order
from retailhub.domain.returns import Refund


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


InboundEvent = OrderReported | FulfilmentReported | RefundReported | InventoryLevelReported
