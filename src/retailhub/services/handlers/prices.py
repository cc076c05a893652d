"""A channel reports a selling price: take it if that channel owns prices, else flag it.

Prices have one system of record (``[ownership] prices``). A change made in a channel that
does not own them (a price edited in Shopify while the ERP or retailhub owns prices) is not
applied: it is queued as an ownership exception for eCommerce and, when ``[push_back] prices``
is on, the owner's price is queued to be written back to the channel (``channel_updates``,
sent by ``retailhub channels send-updates``). Reports older than the last one held are stale.
"""

from __future__ import annotations

from retailhub.domain.events import PriceReported
from retailhub.domain.money import to_decimal
from retailhub.domain.pricing import PriceEntry, PriceList, price_change_decision
from retailhub.domain.problems import Blocked, Problem, ProblemType
from retailhub.services.handlers.context import ApplyContext


def price_reported(event: PriceReported, ctx: ApplyContext) -> None:
    system = event.channel_system
    catalog = ctx.uow.catalog
    sku = event.sku if event.sku and catalog.item(event.sku) else None
    sku = sku or catalog.sku_for(event.variant, "variant")
    if sku is None:
        raise Blocked(
            Problem(
                ProblemType.UNKNOWN_SKU,
                f"{system} variant {event.variant.id} (SKU {event.sku!r}) is not in the item master",
                subject=f"sku:{event.sku}",
            )
        )
    prices = ctx.uow.prices
    last = prices.report_at(system, event.variant.id)
    if last is not None and event.updated_at <= last:
        return  # an older report than one already held
    prices.save_report(system, event.variant.id, sku, event.price, event.updated_at)
    channel = ctx.rules.price_channel(system)
    day = ctx.day(event.updated_at)
    ours = PriceList(prices.entries(sku)).price_for(sku, channel, None, day)
    decision = price_change_decision(
        ctx.rules.owner("prices"),
        system,
        ours,
        event.price,
        push_back="prices" in ctx.rules.push_back,
    )
    if decision.applies:
        prices.add_entry(PriceEntry(sku, channel, event.price, day))
    problem = decision.problem(f"price:{sku}:{channel}")
    if problem is not None:
        ctx.note(problem)
    if decision.push_back is not None:
        amount = to_decimal(decision.push_back.amount, decision.push_back.currency)
        prices.queue_update(
            system,
            "price",
            event.variant.id,
            sku,
            {"price": str(amount), "currency": decision.push_back.currency},
            decision.reason,
            ctx.now,
        )
