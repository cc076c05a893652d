"""Store registers: voids, returns without a receipt, cash in and out, the end-of-day count.

A register's drawer should hold its opening float plus the cash it took, less the cash it
paid back and paid out. The count at the end of the day says what it actually holds; the
difference is booked as over/short and queued for the store, because a drawer that is short
every Friday is a question for a manager, not a rounding error.
"""

from __future__ import annotations

from retailhub.domain import inventory, payment_posting
from retailhub.domain.events import (
    CashMovementReported,
    DrawerCounted,
    SaleVoided,
    UnlinkedReturnReported,
)
from retailhub.domain.money import format_minor
from retailhub.domain.posting import CostLine
from retailhub.domain.problems import Blocked, Problem, ProblemType
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod, RefundTender
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.handlers.drawers import move_cash, note_difference
from retailhub.services.handlers.refunds import apply_refund
from retailhub.services.handlers.stock import settle
from retailhub.services.ports import OrderRecord

POS = "pos"  # drawers belong to store registers

_TENDER_REFUNDS = {
    "cash": RefundMethod.CASH,
    "gift_card": RefundMethod.GIFT_CARD,
    "store_credit": RefundMethod.STORE_CREDIT,
}


def sale_voided(event: SaleVoided, ctx: ApplyContext) -> None:
    """Everything still kept from the sale comes back: goods to the shelf, tenders reversed."""
    record = ctx.order(event.channel_system, event.order_id, f"void {event.void_id}")
    order = record.order
    lines = tuple(
        RefundLine(line.line_id, kept, Disposition.RESTOCK, order.location, 0, 0)
        for line in order.lines
        if (kept := _kept(record, line.line_id)) > 0
    )
    tenders = tuple(
        RefundTender(
            f"{event.void_id}:{i}",
            t.gateway,
            t.amount,
            _TENDER_REFUNDS.get(t.method.value, RefundMethod.ORIGINAL_TENDER),
        )
        for i, t in enumerate(order.tenders)
    ) or (
        RefundTender(
            event.void_id, order.gateway or "unknown", record.captured, RefundMethod.ORIGINAL_TENDER
        ),
    )
    refund = Refund(
        event.void_id,
        order.order_id,
        event.occurred_at,
        lines,
        tenders,
        note="void",
        register=order.register,
    )
    apply_refund(record, refund, ctx)
    settle(record, ctx)


def _kept(record: OrderRecord, line_id: str) -> int:
    state = record.lines[line_id]
    return state.fulfilled - state.returned


def unlinked_return_reported(event: UnlinkedReturnReported, ctx: ApplyContext) -> None:
    location = ctx.location(event.location, f"return {event.return_id}")
    ref = f"return:{event.channel}:{event.return_id}"
    movements, costs = [], []
    goods = 0
    taxes: dict[str, int] = {}
    for item in event.items:
        stocked = ctx.uow.catalog.item(item.sku)
        if stocked is None:
            raise Blocked(
                Problem(
                    ProblemType.UNKNOWN_SKU,
                    f"return {event.return_id} brings back SKU {item.sku!r}, not in the item master",
                    subject=f"sku:{item.sku}",
                )
            )
        line_tax = sum(t.amount for t in item.tax_lines)
        goods += item.unit_price * item.quantity - (line_tax if event.taxes_included else 0)
        for t in item.tax_lines:
            taxes[t.jurisdiction] = taxes.get(t.jurisdiction, 0) + t.amount
        if stocked.tracks_inventory and item.disposition is Disposition.RESTOCK:
            movements.append(
                inventory.restock(item.sku, location, item.quantity, event.occurred_at, ref)
            )
            costs.append(CostLine(item.sku, item.quantity, stocked.unit_cost.amount, location))
    on = ctx.day(event.occurred_at)
    source = ctx.source("return", event.return_id)
    policy = ctx.rules.posting
    ctx.post(
        payment_posting.unlinked_return(
            event.currency,
            event.channel,
            location,
            goods,
            sorted(taxes.items()),
            event.tenders,
            policy,
            on,
            source,
            event.return_id,
        )
    )
    cost_currency = ctx.cost_currency(event.currency)
    ctx.post(payment_posting.restock_cost(cost_currency, event.channel, costs, on, source, policy))
    if movements:
        ctx.uow.inventory.record(movements, ctx.inbox_id)
    cash = sum(t.amount for t in event.tenders if t.method is RefundMethod.CASH)
    move_cash(
        ctx,
        location,
        event.register,
        on,
        -cash,
        event.currency,
        event.channel,
        f"return:{event.return_id}",
    )
    refunded = sum(t.amount for t in event.tenders)
    ctx.note(
        Problem(
            ProblemType.UNLINKED_RETURN,
            f"return {event.return_id} at {location} refunded "
            f"{format_minor(refunded, event.currency)} without an original sale"
            + (f" (receipt {event.original_ref} not found)" if event.original_ref else ""),
            blocking=False,
            subject=f"return:{event.channel}:{event.return_id}",
            amount=refunded,
        )
    )


def cash_movement_reported(event: CashMovementReported, ctx: ApplyContext) -> None:
    location = ctx.location(event.location, f"cash movement {event.movement_id}")
    on = ctx.day(event.occurred_at)
    ctx.post(
        payment_posting.cash_movement(
            event.currency,
            POS,
            location,
            event.amount,
            event.reason,
            ctx.rules.posting,
            on,
            ctx.source("cash", event.movement_id),
        )
    )
    move_cash(
        ctx,
        location,
        event.register,
        on,
        event.amount,
        event.currency,
        POS,
        f"movement:{event.movement_id}",
    )


def drawer_counted(event: DrawerCounted, ctx: ApplyContext) -> None:
    """Book counted less expected as over/short; later records for the day correct it."""
    location = ctx.location(event.location, f"drawer count {event.count_id}")
    day = event.business_day
    takings, counted_before = ctx.uow.registers.drawer(location, event.register, day)
    if counted_before is not None:
        raise Blocked(
            Problem(
                ProblemType.INCONSISTENT_DOCUMENT,
                f"register {event.register} at {location} was already counted for {day}",
                subject=f"drawer:{location}:{event.register}:{day}",
            )
        )
    ctx.uow.registers.set_counted(location, event.register, day, event.counted, event.opening_float)
    difference = event.counted - (event.opening_float + takings)
    ctx.post(
        payment_posting.over_short(
            event.currency,
            POS,
            location,
            difference,
            ctx.rules.posting,
            day,
            ctx.source("drawer", event.count_id),
        )
    )
    note_difference(ctx, location, event.register, day, event.counted, takings, event.currency)
