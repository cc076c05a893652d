"""An order snapshot arrives: record it (newest wins), capture payment, keep reservations right.

Delivery order is not guaranteed (Shopify: "compare the payload's updated_at"), so a snapshot
older than the one we hold never overwrites it; the facts embedded in any snapshot
(fulfilments, refunds) are applied once each by their own ids whatever snapshot brings them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from retailhub.domain import payment_posting, posting
from retailhub.domain.availability import BackorderPolicy
from retailhub.domain.events import OrderReported
from retailhub.domain.orders import DeliveryMethod, Order, OrderLine
from retailhub.domain.payments import TenderMethod
from retailhub.domain.posting import LineSlice
from retailhub.domain.posting_rules import Recognition
from retailhub.domain.problems import Blocked, Problem, ProblemType, Waiting
from retailhub.services.handlers.context import ApplyContext, order_key, recognition_of
from retailhub.services.handlers.drawers import move_cash
from retailhub.services.handlers.fulfilments import apply_fulfilment
from retailhub.services.handlers.payments import capture_receipts, gift_card_breakage
from retailhub.services.handlers.refunds import apply_refund
from retailhub.services.handlers.stock import settle
from retailhub.services.ports import LineState, OrderRecord


def order_reported(event: OrderReported, ctx: ApplyContext) -> None:
    order = event.order
    record = ctx.uow.orders.get(order.source, order.order_id)
    is_new = record is None
    if record is None:
        record = _record_new_order(order, ctx)
    elif order.updated_at > record.order.updated_at:
        _take_newer_snapshot(record, order, ctx)
    order = record.order  # the newest snapshot we hold drives everything below

    _capture_payment(record, ctx)
    if recognition_of(order, ctx) is Recognition.AT_ORDER:
        _recognise_at_order(record, ctx)
    for fulfilment in event.fulfilments:
        _embedded(partial(apply_fulfilment, record, fulfilment, ctx), ctx)
    for refund in event.refunds:
        _embedded(partial(apply_refund, record, refund, ctx), ctx)
    settle(record, ctx)
    if is_new:
        _guard_oversell(record, ctx)


def _guard_oversell(record: OrderRecord, ctx: ApplyContext) -> None:
    """An order for more than its channel could promise still happened: it is recorded (and
    its reservation already cuts every channel sharing those locations) and flagged for the
    eCommerce owner. A channel that takes backorders cannot oversell."""
    order = record.order
    rule = ctx.rules.availability.get(order.channel)
    if rule is None or rule.backorders.policy is BackorderPolicy.UNLIMITED:
        return
    allowance = rule.backorders.limit  # units a capped channel may sell past its stock
    for line in order.lines:
        state = record.lines[line.line_id]
        if state.sku is None or not state.reserved:
            continue
        short = -sum(
            ctx.uow.inventory.position(state.sku, loc).net_available for loc in rule.locations
        )
        if short > allowance:
            ctx.note(
                Problem(
                    ProblemType.OVERSELL,
                    f"order {order.name} on {order.channel} takes {state.quantity} {state.sku}: "
                    f"{short} more than the channel had to promise",
                    blocking=False,
                    subject=f"oversell:{order.channel}:{state.sku}",
                    amount=line.unit_price * min(short, line.quantity),
                )
            )


def _embedded(apply: Callable[[], None], ctx: ApplyContext) -> None:
    """Apply a fact carried inside an order snapshot; its own webhook will bring it otherwise."""
    try:
        with ctx.uow.savepoint():
            apply()
    except Waiting:
        pass
    except Blocked as blocked:
        ctx.note(
            Problem(
                blocked.problem.type,
                blocked.problem.reason,
                blocking=False,
                subject=blocked.problem.subject,
                amount=blocked.problem.amount,
            )
        )


def _record_new_order(order: Order, ctx: ApplyContext) -> OrderRecord:
    location = _order_location(order, ctx)
    lines = [_line_state(order, line, ctx) for line in order.lines]
    customer_id = ctx.uow.orders.upsert_customer(order.customer) if order.customer else None
    return ctx.uow.orders.add(order, location, lines, customer_id, ctx.now)


def _take_newer_snapshot(record: OrderRecord, order: Order, ctx: ApplyContext) -> None:
    added = [
        _line_state(order, line, ctx) for line in order.lines if line.line_id not in record.lines
    ]
    for line in order.lines:  # an edit can change a line's quantity
        state = record.lines.get(line.line_id)
        if state is not None and line.quantity != state.quantity:
            floor = state.fulfilled + state.cancelled
            if line.quantity < floor:
                raise Blocked(
                    Problem(
                        ProblemType.INCONSISTENT_DOCUMENT,
                        f"order {order.name} line {line.line_id}: quantity {line.quantity} is below "
                        f"the {floor} units already fulfilled or cancelled",
                        subject=order_key(order.source, order.order_id),
                        amount=order.total_price,
                    )
                )
            state.quantity = line.quantity
    record.order = order  # the unit of work writes the newer snapshot and any new lines
    record.lines.update({s.line_id: s for s in added})


def _order_location(order: Order, ctx: ApplyContext) -> str | None:
    if order.location is not None:
        return ctx.location(order.location, f"order {order.name}")
    code = ctx.rules.default_location(order.channel)
    ctx.store = ctx.store or code
    return code


def _line_state(order: Order, line: OrderLine, ctx: ApplyContext) -> LineState:
    sku = resolve_sku(order, line, ctx)
    item = ctx.uow.catalog.item(sku) if sku else None
    unit_cost = item.unit_cost.amount if item is not None else 0
    stocked = sku if item is not None and item.tracks_inventory else None
    return LineState(line.line_id, stocked, line.quantity, unit_cost)


def resolve_sku(order: Order, line: OrderLine, ctx: ApplyContext) -> str | None:
    """The item a line sells, by its SKU or the channel's variant id; unknown items block."""
    if line.gift_card or (line.sku is None and line.variant is None):
        return None  # a gift card or a custom line: sold, but not a stocked item
    catalog = ctx.uow.catalog
    if line.sku and catalog.item(line.sku) is not None:
        return line.sku
    if line.variant is not None:
        sku = catalog.sku_for(line.variant, "variant")
        if sku is not None:
            return sku
    raise Blocked(
        Problem(
            ProblemType.UNKNOWN_SKU,
            f"order {order.name} line {line.line_id} sells SKU {line.sku!r}"
            + (f" (variant {line.variant.id})" if line.variant else "")
            + ", which is not in the item master",
            subject=f"sku:{line.sku}",
            amount=order.total_price,
        )
    )


def _capture_payment(record: OrderRecord, ctx: ApplyContext) -> None:
    order = record.order
    target = order.total_price if order.payment_status.captured else 0
    if target <= record.captured:
        return  # voids and refunds are their own facts; capture only ever grows here
    delta = target - record.captured
    on, source = ctx.day(order.created_at), ctx.source("order", order.order_id)
    if order.tenders and record.captured == 0:  # a store sale says how it was paid
        ctx.post(
            payment_posting.tender_capture(
                order.currency,
                order.channel,
                record.location,
                order.tenders,
                ctx.rules.posting,
                on,
                source,
                order.name,
                ctx.rules.posting.order_type(order),
            )
        )
        gift_card_breakage(order.currency, order.channel, order.tenders, on, order.order_id, ctx)
        _count_cash(record, ctx)
    else:
        ctx.post(posting.payment_capture(order, delta, ctx.rules.posting, on, source))
    record.captured = target
    capture_receipts(record, ctx)


def _count_cash(record: OrderRecord, ctx: ApplyContext) -> None:
    """Cash tendered goes into the drawer of the register that rang the sale."""
    order = record.order
    cash = sum(t.amount for t in order.tenders if t.method is TenderMethod.CASH)
    if cash and order.register and record.location:
        day = ctx.day(order.created_at)
        move_cash(
            ctx,
            record.location,
            order.register,
            day,
            cash,
            order.currency,
            order.channel,
            f"sale:{order.order_id}",
        )


def _recognise_at_order(record: OrderRecord, ctx: ApplyContext) -> None:
    order = record.order
    slices = []
    for line in order.lines:
        state = record.lines[line.line_id]
        open_units = state.quantity - state.recognised
        if open_units > 0:
            slices.append(LineSlice(line, open_units, state.recognised))
            state.recognised += open_units
    include_shipping = not record.shipping_recognised and order.delivery is not DeliveryMethod.NONE
    if not slices and not include_shipping:
        return
    ctx.post(
        posting.revenue(
            order,
            slices,
            include_shipping,
            record.location,
            ctx.rules.posting,
            ctx.day(order.created_at),
            ctx.source("order", order.order_id),
            rule=f"revenue-at-order:{sum(s.units for s in slices)}:{len(record.lines)}",
        )
    )
    record.shipping_recognised = True
