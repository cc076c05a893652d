"""Goods leave for the customer: stock goes out, revenue (by default) and COGS are recognised."""

from __future__ import annotations

from retailhub.domain import inventory, posting
from retailhub.domain.events import FulfilmentReported
from retailhub.domain.orders import DeliveryMethod, Fulfilment, FulfilmentKind
from retailhub.domain.posting import CostLine, LineSlice
from retailhub.domain.posting_rules import Recognition
from retailhub.domain.problems import Blocked, Problem, ProblemType
from retailhub.services.handlers.context import ApplyContext, order_key, recognition_of
from retailhub.services.handlers.stock import record_sales, settle
from retailhub.services.ports import OrderRecord


def fulfilment_reported(event: FulfilmentReported, ctx: ApplyContext) -> None:
    f = event.fulfilment
    record = ctx.order(event.channel_system, f.order_id, f"fulfilment {f.fulfilment_id}")
    apply_fulfilment(record, f, ctx)
    settle(record, ctx)


def apply_fulfilment(record: OrderRecord, f: Fulfilment, ctx: ApplyContext) -> None:
    """Apply one fulfilment once. Validates everything before changing any counter."""
    order = record.order
    if ctx.uow.orders.fulfilment_exists(record, f.fulfilment_id):
        return
    location = _fulfilment_location(record, f, ctx)
    kind = _kind(order.delivery)
    if not f.counts:
        ctx.uow.orders.add_fulfilment(record, f, kind.value, location)
        return
    for fl in f.lines:
        state = record.lines.get(fl.line_id)
        if state is None or fl.quantity > state.quantity - state.fulfilled - state.cancelled:
            raise Blocked(
                Problem(
                    ProblemType.INCONSISTENT_DOCUMENT,
                    f"fulfilment {f.fulfilment_id} ships {fl.quantity} of line {fl.line_id} on order "
                    f"{order.name}, more than is open",
                    subject=order_key(order.source, order.order_id),
                    amount=order.total_price,
                )
            )

    at_fulfilment = recognition_of(order, ctx) is Recognition.AT_FULFILMENT
    slices, costs, sales = [], [], []
    ref = f"fulfilment:{order.source}:{f.fulfilment_id}"
    for fl in f.lines:
        state = record.lines[fl.line_id]
        line = order.line(fl.line_id)
        assert line is not None
        if at_fulfilment:
            slices.append(LineSlice(line, fl.quantity, state.recognised))
            state.recognised += fl.quantity
        state.fulfilled += fl.quantity
        if state.sku is not None and location is not None:
            # Units held for this order at this location leave from their reservation, in
            # the same movement; reconcile_reservations then has nothing left to release.
            held = min(fl.quantity, state.reserved) if state.reserved_location == location else 0
            state.reserved -= held
            sales.append(
                inventory.sale(
                    state.sku, location, fl.quantity, f.occurred_at, ref, from_reserved=held
                )
            )
            costs.append(CostLine(state.sku, fl.quantity, state.unit_cost, location))

    source = ctx.source("fulfilment", f.fulfilment_id)
    on = ctx.day(f.occurred_at)
    if at_fulfilment:
        include_shipping = not record.shipping_recognised
        ctx.post(
            posting.revenue(
                order, slices, include_shipping, location, ctx.rules.posting, on, source
            )
        )
        record.shipping_recognised = True
    ctx.post(
        posting.cost_of_sales(order.currency, order.channel, costs, on, source, ctx.rules.posting)
    )
    record_sales(sales, ctx)
    ctx.uow.orders.add_fulfilment(record, f, kind.value, location)


def _fulfilment_location(record: OrderRecord, f: Fulfilment, ctx: ApplyContext) -> str | None:
    if f.location is None:
        return record.location
    return ctx.location(f.location, f"fulfilment {f.fulfilment_id}")


def _kind(delivery: DeliveryMethod) -> FulfilmentKind:
    if delivery in (DeliveryMethod.PICKUP, DeliveryMethod.IN_STORE):
        return FulfilmentKind.PICKUP
    return FulfilmentKind.SHIPMENT
