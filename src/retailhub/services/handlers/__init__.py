"""Handlers: one per canonical event, each applied inside the delivery's transaction."""

from __future__ import annotations

from retailhub.domain.events import (
    FulfilmentReported,
    InboundEvent,
    InventoryLevelReported,
    OrderReported,
    RefundReported,
)
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.handlers.fulfilments import fulfilment_reported
from retailhub.services.handlers.inventory import inventory_level_reported
from retailhub.services.handlers.orders import order_reported
from retailhub.services.handlers.refunds import refund_reported


def apply_event(event: InboundEvent, ctx: ApplyContext) -> None:
    """Dispatch a canonical event to its handler."""
    if isinstance(event, OrderReported):
        order_reported(event, ctx)
    elif isinstance(event, FulfilmentReported):
        fulfilment_reported(event, ctx)
    elif isinstance(event, RefundReported):
        refund_reported(event, ctx)
    elif isinstance(event, InventoryLevelReported):
        inventory_level_reported(event, ctx)
    else:  # pragma: no cover - the union is exhaustive
        raise TypeError(f"no handler for {type(event).__name__}")


__all__ = ["ApplyContext", "apply_event"]
