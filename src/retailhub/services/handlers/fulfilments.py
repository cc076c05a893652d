"""Goods leave for the customer: stock goes out, revenue (by default) and COGS are recognised."""

from __future__ import annotations

from dataclasses import replace

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
    recognition = recognition_of(order, ctx)
    if ctx.uow.orders.fulfilment_exists(record, f.fulfilment_id):
        if recognition is Recognition.AT_PICKUP_OR_DELIVERY and f.delivered:
            recognise_delivered(record, f, ctx)
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

    # Revenue now: at fulfilment; or, with pickup/delivery timing, at a pickup's handover (the
    # fulfilment is the handover) or a shipment already reported delivered.
    at_fulfilment = recognition is Recognition.AT_FULFILMENT or (
        recognition is Recognition.AT_PICKUP_OR_DELIVERY
        and (kind is FulfilmentKind.PICKUP or f.delivered)
    )
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
    ctx.post_cost(order, costs, on, source)
    record_sales(sales, ctx)
    ctx.uow.orders.add_fulfilment(record, f, kind.value, location)
    if at_fulfilment and f.delivered:  # nothing left to recognise when delivery is reported
        ctx.uow.orders.add_fulfilment(record, _delivery_fact(f), DELIVERY_KIND, location)


DELIVERY_KIND = "delivery"  # the carrier's delivery of a shipment, kept as a fact of its own


def _delivery_fact(f: Fulfilment) -> Fulfilment:
    assert f.delivered_at is not None
    return replace(
        f,
        fulfilment_id=f"{f.fulfilment_id}:delivered",
        occurred_at=f.delivered_at,
        status="delivered",
    )


def recognise_delivered(record: OrderRecord, f: Fulfilment, ctx: ApplyContext) -> None:
    """Pickup/delivery timing: a shipment's revenue is recognised when the carrier reports it
    delivered (once: the delivery is recorded as a fact of its own). Units already recognised
    (a return before delivery recognises its units first) are not recognised again."""
    order = record.order
    fact = _delivery_fact(f)
    if ctx.uow.orders.fulfilment_exists(record, fact.fulfilment_id):
        return
    if _kind(order.delivery) is FulfilmentKind.PICKUP:  # recognised at the handover
        return
    slices = []
    for fl in f.lines:
        state = record.lines.get(fl.line_id)
        line = order.line(fl.line_id)
        if state is None or line is None:
            continue
        units = min(fl.quantity, state.fulfilled - state.recognised)
        if units > 0:
            slices.append(LineSlice(line, units, state.recognised))
            state.recognised += units
    location = _fulfilment_location(record, f, ctx)
    assert f.delivered_at is not None
    ctx.post(
        posting.revenue(
            order,
            slices,
            not record.shipping_recognised,
            location,
            ctx.rules.posting,
            ctx.day(f.delivered_at),
            ctx.source("delivery", f.fulfilment_id),
        )
    )
    record.shipping_recognised = True
    ctx.uow.orders.add_fulfilment(record, fact, DELIVERY_KIND, location)


def _fulfilment_location(record: OrderRecord, f: Fulfilment, ctx: ApplyContext) -> str | None:
    if f.location is None:
        return record.location
    return ctx.location(f.location, f"fulfilment {f.fulfilment_id}")


def _kind(delivery: DeliveryMethod) -> FulfilmentKind:
    if delivery in (DeliveryMethod.PICKUP, DeliveryMethod.IN_STORE):
        return FulfilmentKind.PICKUP
    return FulfilmentKind.SHIPMENT
