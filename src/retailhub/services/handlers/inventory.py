"""A channel reports its own stock figure for an item at a location.

Inventory has one system of record (``[ownership] inventory`` in retailhub.toml). When the
channel owns it, its figure is a count: on hand is set so that on hand − reserved equals what
the channel says is available, and the difference is booked as an adjustment at cost. When
retailhub owns it, the figure is kept as an observation and a disagreement is flagged as an
ownership exception, never applied (DESIGN.md: "an inbound change from a non-owner is flagged").
"""

from __future__ import annotations

from retailhub.domain import inventory
from retailhub.domain.events import InventoryLevelReported
from retailhub.domain.ledger import EntryBuilder
from retailhub.domain.posting_rules import TxType
from retailhub.domain.problems import Blocked, Problem, ProblemType
from retailhub.services.handlers.context import ApplyContext


def inventory_level_reported(event: InventoryLevelReported, ctx: ApplyContext) -> None:
    system = event.item.system
    sku = ctx.uow.catalog.sku_for(event.item, "inventory_item")
    if sku is None:
        raise Blocked(
            Problem(
                ProblemType.UNKNOWN_SKU,
                f"{system} inventory item {event.item.id} is not mapped to any SKU",
                subject=f"inventory_item:{system}:{event.item.id}",
            )
        )
    location = ctx.location(event.location, f"{system} inventory level")
    last = ctx.uow.inventory.channel_report_at(system, event.item.id, event.location.id)
    if last is not None and event.updated_at <= last:
        return  # an older report than one we already hold: stale, nothing to do
    ctx.uow.inventory.save_channel_report(
        system,
        event.item.id,
        event.location.id,
        sku,
        location,
        event.available,
        event.updated_at,
        ctx.inbox_id or 0,
    )

    position = ctx.uow.inventory.position(sku, location)
    ours = position.on_hand - position.reserved
    if ours == event.available:
        return
    if ctx.rules.owner("inventory") != system:
        ctx.note(
            Problem(
                ProblemType.OWNERSHIP_VIOLATION,
                f"{system} reports {event.available} available of {sku} at {location}; retailhub owns "
                f"inventory and holds {ours}. Not applied.",
                blocking=False,
                subject=f"stock:{sku}:{location}",
            )
        )
        return
    delta = event.available - ours
    reason = f"count reported by {system}"
    ref = f"inventory_level:{system}:{event.item.id}:{event.location.id}:{event.updated_at.isoformat()}"
    ctx.uow.inventory.record(
        [inventory.adjustment(sku, location, delta, event.updated_at, reason, ref)], ctx.inbox_id
    )
    item = ctx.uow.catalog.item(sku)
    if item is None or item.unit_cost.amount == 0:
        return
    on = ctx.day(event.updated_at)
    rule = ctx.rules.posting.rule(TxType.INVENTORY_ADJUSTMENT, on)
    acc = rule.accounts
    b = EntryBuilder(item.unit_cost.currency, location=location)
    b.debit(acc.inventory, delta * item.unit_cost.amount, sku)
    b.credit(acc.inventory_adjustments, delta * item.unit_cost.amount, sku)
    ctx.post(
        rule.finish(
            b.build(
                on,
                f"Stock count of {sku} at {location}",
                ctx.source("inventory_level", ref),
                "count-adjustment",
            )
        )
    )
