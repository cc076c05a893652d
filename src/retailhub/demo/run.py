"""Run the demo: build the retailer, send a trading day through intake, process, summarise."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from retailhub.adapters.storage import queries
from retailhub.bootstrap import Hub
from retailhub.demo.retailer import SHOPIFY_LOCATIONS, catalog, opening_stock
from retailhub.demo.trading_day import DAY, Delivery, TradingDay
from retailhub.services.commands import receive_stock
from retailhub.services.intake import receive

Progress = Callable[[str, int, int], None]


def load_retailer(hub: Hub, seed: int, stock_scale: int = 1) -> list[Any]:
    """The item master (with Shopify ids) and opening stock; idempotent across runs.

    ``stock_scale`` multiplies the opening stock, so a day of many thousand orders (the
    benchmark) is not mostly sales from empty shelves.
    """
    rng = random.Random(seed)
    items = catalog(rng)
    with hub.uow() as uow:
        if uow.catalog.item(items[0].item.sku) is not None:
            return items
        uow.catalog.save_items(
            (
                (d.item, {"variant": str(d.variant_id), "inventory_item": str(d.inventory_item_id)})
                for d in items
            ),
            "shopify",
        )
        rules = hub.settings.rules()
        for sku, location, qty in opening_stock(rng, items, stock_scale):
            receive_stock(uow, rules, sku, location, qty, DAY, f"opening:{sku}:{location}")
        uow.commit()
    return items


def send(hub: Hub, deliveries: list[Delivery], progress: Progress | None = None) -> dict[str, int]:
    """Every delivery through the same intake path as the webhook endpoint, one commit each."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    source = hub.sources["shopify"]
    with hub.uow() as uow:
        for n, d in enumerate(deliveries, 1):
            receipt = receive(uow, source, d.headers, d.body, hub.clock())
            uow.commit()
            counts[receipt.status] += 1
            if progress:
                progress("intake", n, len(deliveries))
    return counts


def save_payloads(deliveries: list[Delivery], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for n, d in enumerate(deliveries, 1):
        name = f"{n:05d}-{d.topic.replace('/', '-')}.json"
        (directory / name).write_bytes(orjson.dumps(d.to_capture(), option=orjson.OPT_INDENT_2))


def summary(hub: Hub, intake: dict[str, int], sample_skus: list[str]) -> dict[str, Any]:
    with hub.uow() as uow:
        conn = uow.conn
        inbox = queries.inbox_counts(conn)
        docs = queries.document_counts(conn)
        tb = queries.trial_balance(conn)
        rules = hub.settings.rules().availability
        atp = {sku: queries.atp(conn, sku, dict(rules)) for sku in sample_skus}
        open_by_type = queries.open_exceptions_by_type(conn)
        story = queries.order_story(conn, "#1001")  # the seed's story is the day's first order
    return {
        "events_received": intake["accepted"] + intake["duplicate"] + intake["rejected"],
        "events_accepted": intake["accepted"],
        "events_applied": inbox.get("applied", 0),
        "events_waiting": inbox.get("waiting", 0),
        "events_failed": inbox.get("failed", 0),
        "duplicates_ignored": intake["duplicate"],
        "signatures_rejected": intake["rejected"],
        "exceptions_open": open_by_type,
        "orders": docs["orders"],
        "cancelled_orders": docs["cancelled_orders"],
        "refunds": docs["refunds"],
        "returns": docs["returns"],
        "atp": atp,
        "story": story,
        "trial_balance": {
            "debits": sum(r["debits"] for r in tb),
            "credits": sum(r["credits"] for r in tb),
            "accounts": {r["account"]: r["balance"] for r in tb},
        },
    }


def run_demo(
    hub: Hub, orders: int, seed: int, save_dir: Path | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    items = load_retailer(hub, seed)
    shopify = hub.settings.shopify
    assert shopify is not None, "the demo configuration has a Shopify connector"
    deliveries = TradingDay(items, shopify.secrets[0], seed).generate(orders)
    if save_dir is not None:
        save_payloads(deliveries, save_dir)
    intake = send(hub, deliveries, progress)
    processor = hub.processor()
    processor.run_until_idle(on_batch=(lambda n: progress("apply", n, 0)) if progress else None)
    sample = [d.item.sku for d in items[:3]]
    result = summary(hub, intake, sample)
    result["locations"] = sorted(SHOPIFY_LOCATIONS)
    return result
