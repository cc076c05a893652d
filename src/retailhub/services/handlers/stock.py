"""Stock effects of orders: reservations follow what is still open, sales and returns move stock."""

from __future__ import annotations

from collections.abc import Sequence

from retailhub.domain import inventory
from retailhub.domain.inventory import Movement
from retailhub.domain.problems import Problem, ProblemType
from retailhub.services.handlers.context import ApplyContext, order_key
from retailhub.services.ports import OrderRecord


def reconcile_reservations(record: OrderRecord, ctx: ApplyContext) -> None:
    """Hold exactly the open units of each line at the order's location.

    Open = ordered − fulfilled − cancelled, and nothing once the order is cancelled. Computing
    the target and booking only the difference makes this safe to run after every fact, in any
    order, any number of times.
    """
    order = record.order
    movements: list[Movement] = []
    ref = f"order:{order.source}:{order.order_id}"
    for state in record.lines.values():
        if state.sku is None:
            continue
        open_units = max(0, state.quantity - state.fulfilled - state.cancelled)
        target = 0 if order.cancelled_at is not None or record.location is None else open_units
        if state.reserved and state.reserved_location != record.location:
            assert state.reserved_location is not None
            movements.append(
                inventory.reservation(
                    state.sku, state.reserved_location, -state.reserved, ctx.now, ref
                )
            )
            state.reserved = 0
        delta = target - state.reserved
        if delta and record.location is not None:
            movements.append(inventory.reservation(state.sku, record.location, delta, ctx.now, ref))
            state.reserved = target
            state.reserved_location = record.location
    if movements:
        ctx.uow.inventory.record(movements, ctx.inbox_id)


def settle(record: OrderRecord, ctx: ApplyContext) -> None:
    """After any fact on an order: reservations to what is open, waiters woken.

    The record itself needs no saving: the unit of work writes what changed when it commits.
    """
    reconcile_reservations(record, ctx)
    ctx.woken.add(order_key(record.order.source, record.order.order_id))


def record_sales(movements: Sequence[Movement], ctx: ApplyContext) -> None:
    """Book goods leaving; a sale that takes a location below zero still happened, and is flagged."""
    ctx.uow.inventory.record(movements, ctx.inbox_id)
    for m in movements:
        position = ctx.uow.inventory.position(m.sku, m.location)
        if position.on_hand < 0:
            ctx.note(
                Problem(
                    ProblemType.NEGATIVE_STOCK,
                    f"{m.sku} at {m.location} is at {position.on_hand} on hand after {m.reference}",
                    blocking=False,
                    subject=f"stock:{m.sku}:{m.location}",
                )
            )
