"""``retailhub prices …``: the owner's price lists; ``retailhub channels send-updates``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from retailhub.adapters.connectors.shopify.admin import ShopifyVariantPrices, admin_client
from retailhub.adapters.files.prices import read_prices
from retailhub.adapters.storage.prices_repo import SqlChannelUpdates, SqlPriceRepository
from retailhub.domain.pricing import PriceList, PriceListError
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    refuse_rows,
)
from retailhub.services.channel_updates import ChannelUpdater, send_pending

prices_app = typer.Typer(help="Price lists per channel and location.", no_args_is_help=True)
channels_app = typer.Typer(help="What the hub owes the channels.", no_args_is_help=True)


@prices_app.command("import")
def prices_import(
    file: Annotated[Path, typer.Argument(help="Price list file (.csv or .json).")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: from the file name).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import price list entries (docs/item-master.md); any bad row and nothing is imported.

    Entries are checked together with those already held: two entries for the same SKU,
    channel and location may not claim the same day (an open-ended one gives way to a later
    start).
    """
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    hub = open_hub()
    rows, errors = read_prices(file, hub.settings.currency, file_format)
    if errors:
        refuse_rows(file, errors, as_json)
    with hub.uow() as uow:
        repo = SqlPriceRepository(uow.conn, uow.buffer)
        new = [r.entry for r in rows]
        keys = {(e.sku, e.channel, e.location, e.effective_from) for e in new}
        held = [
            e
            for sku in sorted({e.sku for e in new})
            for e in repo.entries(sku)
            if (e.sku, e.channel, e.location, e.effective_from) not in keys
        ]
        try:
            PriceList([*held, *new])
        except PriceListError as exc:
            err.print(f"[red]{file}: {exc}[/red]")
            err.print("nothing imported")
            raise typer.Exit(1) from exc
        for entry in new:
            repo.add_entry(entry)
        repo.flush()
        uow.commit()
    if as_json:
        print_json({"imported": len(new)})
    else:
        console.print(f"{len(new)} price entries imported")


@prices_app.command("show")
def prices_show(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    channel: Annotated[str, typer.Option(help="Channel.")] = "web",
    location: Annotated[str | None, typer.Option(help="Location (default: channel-wide).")] = None,
    on: Annotated[str | None, typer.Option(help="Day (YYYY-MM-DD; default: today).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The price in force for a SKU on a channel (and location) on a day."""
    hub = open_hub()
    day = date.fromisoformat(on) if on else hub.clock().astimezone(hub.settings.timezone).date()
    with hub.uow() as uow:
        book = PriceList(SqlPriceRepository(uow.conn, uow.buffer).entries(sku))
    entry = book.entry_for(sku, channel, location, day)
    result = {
        "sku": sku,
        "channel": channel,
        "location": location,
        "on": day.isoformat(),
        "price": str(entry.price) if entry else None,
        "entry": entry.describe() if entry else None,
    }
    if as_json:
        print_json(result)
    else:
        console.print(f"{sku} on {channel} {day}: {result['price'] or 'no price'}")


@channels_app.command("send-updates")
def send_updates(as_json: JsonOpt = False) -> None:
    """Send owed changes (an owner's prices pushed back) to the channels that have credentials."""
    hub = open_hub()
    updaters: dict[str, ChannelUpdater] = {}
    shopify = hub.settings.shopify
    if shopify is not None and shopify.admin_token and shopify.shop_domain:
        url = shopify.shop_domain
        url = url if url.startswith("http") else f"https://{url}"
        updaters["shopify"] = ShopifyVariantPrices(admin_client(url, shopify.admin_token))
    with hub.uow() as uow:
        result = send_pending(SqlChannelUpdates(uow.conn), updaters, hub.clock())
        uow.commit()
    data = {"sent": result.sent, "failed": result.failed, "no_credentials": result.skipped}
    if as_json:
        print_json(data)
    else:
        console.print(data)
