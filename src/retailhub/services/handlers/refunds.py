"""A refund: money back through its tenders, revenue reversed in the original sale's context,
goods back into stock by disposition at the location that received them.

Refund lines that return goods need those goods to have been fulfilled first; a refund that
arrives before its fulfilment waits for it (see ``Waiting``) instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from retailhub.domain import inventory, posting
from retailhub.domain.events import RefundReported
from retailhub.domain.inventory import Movement
from retailhub.domain.posting import CostLine, LineSlice, RefundContext
from retailhub.domain.posting_rules import Recognition
from retailhub.domain.problems import Blocked, Problem, ProblemType, Waiting
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod
from retailhub.services.handlers.context import ApplyContext, order_key, recognition_of
from retailhub.services.handlers.drawers import move_cash
from retailhub.services.handlers.payments import refund_receipts
from retailhub.services.handlers.stock import settle
from retailhub.services.ports import LineState, OrderRecord


def refund_reported(event: RefundReported, ctx: ApplyContext) -> None:
    r = event.refund
    record = ctx.order(event.channel_system, r.order_id, f"refund {r.refund_id}")
    apply_refund(record, r, ctx)
    settle(record, ctx)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How many units of one refund line come out of recognised revenue vs. open deposits."""

    rl: RefundLine
    state: LineState
    reversed_units: int
    deposit_units: int
    location: str | None


def apply_refund(record: OrderRecord, r: Refund, ctx: ApplyContext) -> None:
    order = record.order
    if ctx.uow.orders.refund_exists(record, r.refund_id):
        return
    recognition = recognition_of(order, ctx)
    at_order = recognition is Recognition.AT_ORDER
    plans = _plan(record, r, at_order, ctx)
    if recognition is Recognition.AT_PICKUP_OR_DELIVERY:
        _recognise_before_return(record, r, plans, ctx)

    reversed_slices: list[LineSlice] = []
    deposit_slices: list[LineSlice] = []
    movements: list[Movement] = []
    costs: list[CostLine] = []
    ref = f"refund:{order.source}:{r.refund_id}"
    for p in plans:
        line = order.line(p.rl.line_id)
        assert line is not None
        if p.reversed_units:
            reversed_slices.append(LineSlice(line, p.reversed_units, p.state.reversed))
            p.state.reversed += p.reversed_units
        if p.deposit_units:
            deposit_slices.append(
                LineSlice(line, p.deposit_units, p.state.cancelled, from_top=True)
            )
        if p.rl.disposition is Disposition.CANCEL:
            p.state.cancelled += p.rl.quantity
        else:
            p.state.returned += p.rl.quantity
            movements += _goods_back(p, r, ref, costs)

    location = next((p.location for p in plans if p.location), record.location)
    rctx = RefundContext(
        tuple(reversed_slices), tuple(deposit_slices), record.shipping_recognised, location
    )
    source = ctx.source("refund", r.refund_id)
    on = ctx.day(r.occurred_at)
    ctx.post(posting.refund(order, r, rctx, ctx.rules.posting, on, source))
    ctx.post_cost(order, costs, on, source, reverse=True)
    if movements:
        ctx.uow.inventory.record(movements, ctx.inbox_id)
    skus = {p.rl.line_id: p.state.sku for p in plans}
    ctx.uow.orders.add_refund(record, r, location, skus, [p.location for p in plans])
    refund_receipts(record, r, ctx)
    cash = sum(t.amount for t in r.tenders if t.method is RefundMethod.CASH)
    register = r.register or order.register
    if cash and register and location:
        move_cash(
            ctx,
            location,
            register,
            on,
            -cash,
            order.currency,
            order.channel,
            f"refund:{r.refund_id}",
        )


def _recognise_before_return(
    record: OrderRecord, r: Refund, plans: list[_Plan], ctx: ApplyContext
) -> None:
    """Pickup/delivery timing: goods returned before the carrier reported them delivered (a
    refused parcel) were never recognised. Recognise them first, dated with the refund, so the
    refund reverses them like any other return: the pair nets to zero revenue, and the line's
    counters stay the ones every other timing uses."""
    order = record.order
    needed: dict[str, int] = {}
    for p in plans:
        if p.reversed_units:
            needed[p.rl.line_id] = needed.get(p.rl.line_id, 0) + p.reversed_units
    slices = []
    for line_id, units in needed.items():
        state = record.lines[line_id]
        gap = state.reversed + units - state.recognised
        line = order.line(line_id)
        if gap > 0 and line is not None:
            slices.append(LineSlice(line, gap, state.recognised))
            state.recognised += gap
    if slices:
        ctx.post(
            posting.revenue(
                order,
                slices,
                False,
                record.location,
                ctx.rules.posting,
                ctx.day(r.occurred_at),
                ctx.source("refund", r.refund_id),
                rule="revenue-before-return",
            )
        )


def _plan(record: OrderRecord, r: Refund, at_order: bool, ctx: ApplyContext) -> list[_Plan]:
    """Check every line before anything changes; wait or block on the first that cannot apply."""
    order = record.order
    subject = order_key(order.source, order.order_id)
    plans = []
    taken: dict[str, int] = {}  # units of a line already planned earlier in this same refund
    for rl in r.lines:
        state = record.lines.get(rl.line_id)
        if state is None or rl.quantity <= 0:
            raise Blocked(
                Problem(
                    ProblemType.INCONSISTENT_DOCUMENT,
                    f"refund {r.refund_id} refers to line {rl.line_id}, not on order {order.name}",
                    subject=subject,
                    amount=r.refunded_to_customer,
                )
            )
        earlier = taken.get(rl.line_id, 0)
        if rl.disposition is Disposition.CANCEL:
            open_units = state.quantity - state.fulfilled - state.cancelled - earlier
            if rl.quantity > open_units:
                raise Blocked(
                    Problem(
                        ProblemType.INCONSISTENT_DOCUMENT,
                        f"refund {r.refund_id} cancels {rl.quantity} of line {rl.line_id} on order "
                        f"{order.name} but only {open_units} are unfulfilled",
                        subject=subject,
                        amount=r.refunded_to_customer,
                    )
                )
            reversed_units = rl.quantity if at_order else 0
            deposit_units = 0 if at_order else rl.quantity
        else:
            returnable = state.fulfilled - state.returned - earlier
            if rl.quantity > returnable:
                raise Waiting(
                    subject,
                    f"refund {r.refund_id} returns {rl.quantity} of line "
                    f"{rl.line_id} but only {returnable} have been fulfilled so far",
                )
            reversed_units, deposit_units = rl.quantity, 0
        taken[rl.line_id] = earlier + rl.quantity
        location = _location(rl, ctx, r) or record.location  # received where sold, unless told
        plans.append(_Plan(rl, state, reversed_units, deposit_units, location))
    return plans


def _location(rl: RefundLine, ctx: ApplyContext, r: Refund) -> str | None:
    return ctx.location(rl.location, f"refund {r.refund_id}") if rl.location else None


def _goods_back(p: _Plan, r: Refund, ref: str, costs: list[CostLine]) -> list[Movement]:
    """Restocked or quarantined goods come back at their original cost; others stay expensed."""
    sku, location = p.state.sku, p.location
    if sku is None or location is None:
        return []
    qty = p.rl.quantity
    if p.rl.disposition is Disposition.RESTOCK:
        costs.append(CostLine(sku, qty, p.state.unit_cost, location))
        return [inventory.restock(sku, location, qty, r.occurred_at, ref)]
    if p.rl.disposition is Disposition.QUARANTINE:
        costs.append(CostLine(sku, qty, p.state.unit_cost, location))
        return [inventory.quarantine(sku, location, qty, r.occurred_at, ref)]
    return []
