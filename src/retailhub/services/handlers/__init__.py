"""Handlers: one per canonical event, each applied inside the delivery's transaction."""

from __future__ import annotations

from retailhub.domain.events import (
    CashMovementReported,
    DrawerCounted,
    EventsReported,
    FulfilmentReported,
    InboundEvent,
    InventoryLevelReported,
    OrderReported,
    PaymentReported,
    PriceReported,
    RefundReported,
    SaleVoided,
    SettlementReported,
    UnlinkedReturnReported,
)
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.handlers.fulfilments import fulfilment_reported
from retailhub.services.handlers.inventory import inventory_level_reported
from retailhub.services.handlers.orders import order_reported
from retailhub.services.handlers.payments import payment_reported
from retailhub.services.handlers.prices import price_reported
from retailhub.services.handlers.refunds import refund_reported
from retailhub.services.handlers.registers import (
    cash_movement_reported,
    drawer_counted,
    sale_voided,
    unlinked_return_reported,
)
from retailhub.services.handlers.settlements import settlement_reported


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
    elif isinstance(event, PaymentReported):
        payment_reported(event, ctx)
    elif isinstance(event, SettlementReported):
        settlement_reported(event, ctx)
    elif isinstance(event, SaleVoided):
        sale_voided(event, ctx)
    elif isinstance(event, UnlinkedReturnReported):
        unlinked_return_reported(event, ctx)
    elif isinstance(event, CashMovementReported):
        cash_movement_reported(event, ctx)
    elif isinstance(event, DrawerCounted):
        drawer_counted(event, ctx)
    elif isinstance(event, PriceReported):
        price_reported(event, ctx)
    elif isinstance(event, EventsReported):
        for part in event.events:  # in order, in this delivery's transaction
            apply_event(part, ctx)
    else:  # pragma: no cover - the union is exhaustive
        raise TypeError(f"no handler for {type(event).__name__}")


__all__ = ["ApplyContext", "apply_event"]
