"""Stock and the item master: ATP, goods received, item imports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.files.items import read_items
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.catalog_repo import SqlCatalogRepository
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    progress_bar,
)
from retailhub.services.commands import receive_stock

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
        atp = queries.atp(uow.conn, sku, rules)
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
    quantity: Annotated[int, typer.Argument(help="Units received, in the item's base unit.")],
    reference: Annotated[str | None, typer.Option(help="Document reference (e.g. a PO).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Book goods received at a location (opening stock): on hand up, inventory at cost."""
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
            receive_stock(uow, hub.settings.rules(), sku, location, quantity, now, ref)
        except KeyError as exc:
            err.print(f"[red]{exc.args[0]}[/red]: import the item master first")
            raise typer.Exit(1) from exc
        uow.commit()
        position = uow.inventory.position(sku, location)
    result = {
        "sku": sku,
        "location": location,
        "received": quantity,
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
        if as_json:
            print_json({"imported": 0, "errors": [str(e) for e in errors]})
        else:
            for e in errors:
                err.print(f"[red]{file}:{e}[/red]")
            err.print(f"{len(errors)} bad row(s): nothing imported")
        raise typer.Exit(1)
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
