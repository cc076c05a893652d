"""Stock and the item master: ATP, goods received, item imports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from retailhub.adapters.files.items import read_items
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.catalog_repo import SqlCatalogRepository
from retailhub.adapters.storage.push_state import SqlPushAudit
from retailhub.adapters.storage.stock_control_repo import SqlStockControl
from retailhub.adapters.storage.uow import SqlUnitOfWork
from retailhub.bootstrap import Hub
from retailhub.domain.stock_control import Transfer, inventory_accuracy
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    progress_bar,
    refuse_rows,
)
from retailhub.services.availability_push import percentile
from retailhub.services.commands import receive_stock
from retailhub.services.drift import drift_units
from retailhub.services.rules import HubRules
from retailhub.services.stock_control import (
    StockControlError,
    count_stock,
    receive_transfer,
    ship_transfer,
)

T = TypeVar("T")
inventory_app = typer.Typer(help="Stock positions and available-to-promise.", no_args_is_help=True)
items_app = typer.Typer(help="The item master.", no_args_is_help=True)


@inventory_app.command("atp")
def inventory_atp(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Available-to-promise per channel, with the positions behind it."""
    hub = open_hub()
    rules = dict(hub.settings.rules().availability)
    if channel is not None:
        if channel not in rules:
            err.print(f"[red]unknown channel {channel!r}[/red]; configured: {', '.join(rules)}")
            raise typer.Exit(2)
        rules = {channel: rules[channel]}
    with hub.uow() as uow:
        settings_rules = hub.settings.rules()
        atp = queries.atp(
            uow.conn, sku, rules, settings_rules.safety, settings_rules.sales_window_days
        )
        positions = queries.positions(uow.conn, sku)
    if not positions:
        err.print(f"[yellow]no stock recorded for {sku}[/yellow]")
    if as_json:
        print_json(
            {
                "sku": sku,
                "atp": atp,
                "positions": [
                    {
                        "location": p.location,
                        "on_hand": p.on_hand,
                        "reserved": p.reserved,
                        "in_transit": p.in_transit,
                        "quarantined": p.quarantined,
                        "safety_stock": p.safety_stock,
                    }
                    for p in positions
                ],
            }
        )
        return
    table = Table("location", "on hand", "reserved", "in transit", "safety", title=f"{sku}")
    for p in positions:
        table.add_row(
            p.location, str(p.on_hand), str(p.reserved), str(p.in_transit), str(p.safety_stock)
        )
    console.print(table)
    for name, value in atp.items():
        console.print(f"ATP {name}: [bold]{value}[/bold]")


@inventory_app.command("receive")
def inventory_receive(
    sku: Annotated[str, typer.Argument(help="The SKU received.")],
    location: Annotated[str, typer.Argument(help="Location code (from retailhub.toml).")],
    quantity: Annotated[int, typer.Argument(help="Units received (in --uom, else base units).")],
    reference: Annotated[str | None, typer.Option(help="Document reference (e.g. a PO).")] = None,
    uom: Annotated[
        str | None,
        typer.Option(help="Unit received in, e.g. CASE (converted by the item's conversions)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Book goods received at a location: on hand up (in base units), inventory at cost."""
    hub = open_hub()
    codes = {loc.code for loc in hub.settings.locations}
    if location not in codes:
        err.print(
            f"[red]unknown location {location!r}[/red]; configured: {', '.join(sorted(codes))}"
        )
        raise typer.Exit(2)
    if quantity <= 0:
        err.print("[red]quantity must be positive[/red]")
        raise typer.Exit(2)
    now = hub.clock()
    ref = reference or f"receipt:{sku}:{location}:{now.isoformat()}"
    with hub.uow() as uow:
        try:
            receive_stock(uow, hub.settings.rules(), sku, location, quantity, now, ref, uom=uom)
        except KeyError as exc:
            err.print(f"[red]{exc.args[0]}[/red]: import the item master first")
            raise typer.Exit(1) from exc
        except ValueError as exc:  # no conversion for that unit
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        uow.commit()
        position = uow.inventory.position(sku, location)
    hub.push_now([sku], "goods received")  # after the unit of work: it holds the write lock
    result = {
        "sku": sku,
        "location": location,
        "received": quantity,
        "uom": uom,
        "on_hand": position.on_hand,
        "reference": ref,
    }
    if as_json:
        print_json(result)
    else:
        console.print(f"received {quantity} {sku} at {location}; on hand now {position.on_hand}")


@items_app.command("import")
def items_import(
    file: Annotated[Path, typer.Argument(help="Item master file (.csv or .json).")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import or update items (with their Shopify ids); any bad row and nothing is imported."""
    hub = open_hub()
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    rows, errors = read_items(file, hub.settings.currency, file_format)
    if errors:
        refuse_rows(file, errors, as_json)
    with progress_bar() as progress, hub.uow() as uow:
        task = progress.add_task("items", total=len(rows))
        catalog = SqlCatalogRepository(uow.conn)
        for i in range(0, len(rows), 1000):  # one transaction: all rows or none
            chunk = rows[i : i + 1000]
            catalog.save_items(((r.item, r.identities) for r in chunk), "shopify")
            progress.advance(task, len(chunk))
        uow.commit()
    if as_json:
        print_json({"imported": len(rows), "errors": []})
    else:
        console.print(f"imported {len(rows)} item(s) from {file}")


@inventory_app.command("transfer")
def inventory_transfer(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    source: Annotated[str, typer.Argument(help="Location it leaves.")],
    destination: Annotated[str, typer.Argument(help="Location it goes to.")],
    quantity: Annotated[int, typer.Argument(help="Units shipped.")],
    reference: Annotated[
        str | None, typer.Option(help="Transfer reference (default: generated).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Ship stock between locations: off the shelf at SOURCE, in transit at DESTINATION."""
    hub = open_hub()
    now = hub.clock()
    ref = reference or f"TR-{sku}-{source}-{destination}-{now:%Y%m%d%H%M%S}"
    transfer = Transfer(ref, sku, source, destination, quantity, now)
    _stock_command(hub, lambda uow, store, rules: ship_transfer(uow, store, rules, transfer))
    hub.push_now([sku], "transfer shipped")
    result = {
        "reference": ref,
        "sku": sku,
        "from": source,
        "to": destination,
        "quantity": quantity,
        "status": "in_transit",
    }
    if as_json:
        print_json(result)
    else:
        console.print(f"transfer {ref}: {quantity} {sku} {source} → {destination}, in transit")


@inventory_app.command("receive-transfer")
def inventory_receive_transfer(
    reference: Annotated[str, typer.Argument(help="The transfer reference.")],
    quantity: Annotated[
        int | None, typer.Option(help="Units that arrived, if fewer than shipped (shrink).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Receive a transfer: in transit → on hand; a shortfall is booked as shrink in transit."""
    hub = open_hub()
    done = _stock_command(
        hub,
        lambda uow, store, rules: receive_transfer(
            uow, store, rules, reference, hub.clock(), quantity
        ),
    )
    hub.push_now([done.sku], "transfer received")
    result = {
        "reference": reference,
        "sku": done.sku,
        "shipped": done.quantity,
        "received": done.received,
        "shrink": done.quantity - (done.received or 0),
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"transfer {reference}: received {done.received} of {done.quantity} {done.sku} "
            f"at {done.destination}"
        )


@inventory_app.command("count")
def inventory_count(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    location: Annotated[str, typer.Argument(help="Where it was counted.")],
    counted: Annotated[int, typer.Argument(help="Units counted on the shelf.")],
    reason: Annotated[str, typer.Option(help="Why it differs, if it does (shrink, damage…).")] = (
        "cycle count"
    ),
    as_json: JsonOpt = False,
) -> None:
    """Record a cycle count: the count replaces on hand; the difference is an adjustment."""
    hub = open_hub()
    now = hub.clock()
    ref = f"count:{sku}:{location}:{now.isoformat()}"
    count = _stock_command(
        hub,
        lambda uow, store, rules: count_stock(
            uow, store, rules, sku, location, counted, reason, now, ref
        ),
    )
    hub.push_now([sku], "cycle count")
    result = {
        "sku": sku,
        "location": location,
        "counted": counted,
        "booked": count.expected,
        "difference": count.difference,
        "reason": reason,
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{sku} at {location}: counted {counted}, books said {count.expected} "
            f"(difference {count.difference:+d}, {reason})"
        )


@inventory_app.command("drift")
def inventory_drift(
    system: Annotated[str | None, typer.Option(help="Only this channel system (shopify…).")] = None,
    push: Annotated[
        bool, typer.Option(help="Push our level to every drifted channel location now.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Compare every level a channel reported with the level we hold for it; queue drifts.

    Each drift becomes a stock_drift exception for eCommerce (refreshed, not duplicated, on
    the next run; resolved once the channel agrees) and, with channel credentials, our level
    is pushed again. Exit status 1 when anything drifted.
    """
    hub = open_hub()
    if hub.push is not None:
        hub.push.interval = timedelta(0)  # a one-off run: push corrections at once
    report, corrected = hub.check_drift(system, push=push)
    result = {
        "checked": report.checked,
        "drifted": len(report.drifts),
        "units": drift_units(report.drifts),
        "resolved": report.resolved,
        "pushed": corrected,
        "drifts": [
            {
                "system": d.level.system,
                "sku": d.level.sku,
                "location": d.level.location,
                "channel_shows": d.level.available,
                "ours": d.ours,
            }
            for d in report.drifts
        ],
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{report.checked} channel levels checked, {len(report.drifts)} drifted "
            f"({result['units']} units), {report.resolved} put right since the last check"
        )
        for d in report.drifts:
            console.print(
                f"  {d.level.system} {d.level.sku} at {d.level.location}: channel shows "
                f"{d.level.available}, we hold {d.ours}"
            )
    if report.drifts:
        raise typer.Exit(1)


@inventory_app.command("push")
def inventory_push(
    skus: Annotated[list[str] | None, typer.Argument(help="SKUs to push (default: --all).")] = None,
    push_all: Annotated[bool, typer.Option("--all", help="Every SKU with stock.")] = False,
    reason: Annotated[str, typer.Option(help="Why, for the push audit.")] = "manual push",
    as_json: JsonOpt = False,
) -> None:
    """Push available-to-promise to every channel with credentials now, and audit it.

    Each level sent is recorded with what, when, why and the channel's answer
    (`inventory push-history SKU`). Levels a channel already holds are not resent.
    """
    hub = open_hub()
    if hub.push is None:
        err.print(
            "[red]no channel to push to: give [connectors.shopify] admin_token or "
            "[connectors.square] access_token[/red]"
        )
        raise typer.Exit(2)
    if not skus and not push_all:
        err.print("[red]name SKUs or pass --all[/red]")
        raise typer.Exit(2)
    if push_all:
        with hub.uow() as uow:
            skus = queries.stocked_skus(uow.conn)
    records = hub.push_now(skus or [], reason)
    accepted = [r for r in records if r.accepted]
    failed = [
        {"sku": r.sku, "channel": r.channel, "location": r.location_id, "answer": r.answer}
        for r in records
        if not r.accepted
    ]
    result = {
        "skus": len(skus or []),
        "levels_sent": len(records),
        "accepted": len(accepted),
        "failed": failed,
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{len(records)} levels sent for {len(skus or [])} SKUs, {len(accepted)} accepted"
        )
        for f in failed:
            console.print(f"[red]{f['channel']} {f['sku']} at {f['location']}: {f['answer']}[/red]")
    if len(accepted) < len(records):
        raise typer.Exit(1)


@inventory_app.command("push-history")
def inventory_push_history(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    as_json: JsonOpt = False,
) -> None:
    """Every level pushed for a SKU: what, when, why, and what the channel answered."""
    hub = open_hub()
    rows = SqlPushAudit(hub.engine).history(sku)
    if as_json:
        print_json(
            [
                {
                    **r,
                    **{
                        k: r[k].isoformat()
                        for k in ("marked_at", "sent_at", "acked_at")
                        if r[k] is not None
                    },
                }
                for r in rows
            ]
        )
        return
    table = Table("sent", "channel", "location", "qty", "why", "answer")
    for r in rows:
        table.add_row(
            f"{r['sent_at']:%Y-%m-%d %H:%M:%S}",
            r["channel"],
            r["location_id"],
            str(r["quantity"]),
            ", ".join(r["reasons"]),
            ("ok " if r["accepted"] else "FAILED ") + (r["answer"] or "")[:60],
        )
    console.print(table)


@inventory_app.command("metrics")
def inventory_metrics(as_json: JsonOpt = False) -> None:
    """Inventory accuracy (cycle counts), push latency p50/p99, drift found."""
    hub = open_hub()
    with hub.uow() as uow:
        counts = SqlStockControl(uow.conn).counts()
        drifts = queries.list_exceptions(uow.conn, None, 100000, type_="stock_drift")
    latencies = sorted(SqlPushAudit(hub.engine).latencies())
    accuracy = inventory_accuracy(counts)
    result = {
        "inventory_accuracy": accuracy,
        "cycle_counts": len(counts),
        "pushes": len(latencies),
        "push_latency_p50_s": percentile(latencies, 50) if latencies else None,
        "push_latency_p99_s": percentile(latencies, 99) if latencies else None,
        "drift_found": len(drifts),
        "drift_open": sum(1 for d in drifts if d["status"] == "open"),
    }
    if as_json:
        print_json(result)
        return
    table = Table("metric", "value")
    for key, value in result.items():
        shown = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else value)
        table.add_row(key, str(shown))
    console.print(table)


def _stock_command(hub: Hub, run: Callable[[SqlUnitOfWork, SqlStockControl, HubRules], T]) -> T:
    """Run a stock-control command in one transaction; a refusal exits 1 with its reason."""
    with hub.uow() as uow:
        try:
            done = run(uow, SqlStockControl(uow.conn), hub.settings.rules())
        except StockControlError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        uow.commit()
    return done
