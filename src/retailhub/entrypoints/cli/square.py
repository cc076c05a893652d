"""``retailhub square sync``: pull the orders Square's webhooks did not bring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from retailhub.adapters.connectors.square.sync import SYNC_TOPIC, order_deliveries
from retailhub.adapters.connectors.square.webhook import SquareWebhooks
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.services.intake import admit

square_app = typer.Typer(help="The Square connector.", no_args_is_help=True)


@square_app.command("sync")
def sync(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Orders updated since (ISO 8601; default: 24 hours ago)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search Square for orders updated since a moment and apply them like webhooks.

    Square publishes no order.created for Point of Sale orders, and webhooks missed while the
    hub was down are lost after Square's retries: run this on a schedule. Needs
    [connectors.square] access_token_env and the locations' square_location_id.
    """
    hub = open_hub()
    source = hub.sources.get("square")
    if not isinstance(source, SquareWebhooks) or source.api is None:
        err.print("[red][connectors.square] with an access token is needed to search orders[/red]")
        raise typer.Exit(2)
    locations = [
        loc.external_ids["square"] for loc in hub.settings.locations if "square" in loc.external_ids
    ]
    if not locations:
        err.print("[red]no location has a square_location_id in retailhub.toml[/red]")
        raise typer.Exit(2)
    try:
        start = datetime.fromisoformat(since) if since else hub.clock() - timedelta(hours=24)
    except ValueError:
        err.print(f"[red]--since {since!r} is not an ISO 8601 date or time[/red]")
        raise typer.Exit(2) from None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    counts = {"found": 0, "accepted": 0, "duplicate": 0}
    with hub.uow() as uow:
        for event_id, body in order_deliveries(source.api, locations, start):
            counts["found"] += 1
            # Read from Square's API with our own token: there is no signature to verify.
            receipt = admit(
                uow, source, {"x-retailhub-sync": event_id}, body, hub.clock(), uuid.uuid4().hex
            )
            counts[receipt.status] += 1
        uow.commit()
    stats = hub.processor().run_until_idle()
    result = {
        **counts,
        "topic": SYNC_TOPIC,
        "applied": stats.applied,
        "failed": stats.failed,
        "waiting": stats.waiting,
        "problems": stats.by_problem,
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{counts['found']} orders updated since {start.isoformat()}: "
            f"{counts['accepted']} new, applied {stats.applied}, failed {stats.failed}"
        )
