"""The ``retailhub`` command line (Typer + Rich)."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from retailhub import config as config_module
from retailhub.adapters.storage.readiness import check_all
from retailhub.bootstrap import DEFAULT_DB_URL, make_engine, utc_now
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.alerts import alerts_app
from retailhub.entrypoints.cli.captures import CaptureError, expand, read_capture, source_of
from retailhub.entrypoints.cli.close import close_app
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    progress_bar,
    state,
)
from retailhub.entrypoints.cli.erp import erp_app
from retailhub.entrypoints.cli.exceptions import exceptions_app
from retailhub.entrypoints.cli.ledger import ledger_app
from retailhub.entrypoints.cli.money import bank_app, reconcile_command, settlements_app
from retailhub.entrypoints.cli.pos import pos_app
from retailhub.entrypoints.cli.prices import channels_app, prices_app
from retailhub.entrypoints.cli.reports import reports_app
from retailhub.entrypoints.cli.square import square_app
from retailhub.entrypoints.cli.stock import inventory_app, items_app
from retailhub.entrypoints.cli.tokens import tokens_app
from retailhub.entrypoints.erp_schedule import ErpSchedule
from retailhub.entrypoints.runtime import tune_gc
from retailhub.observability import configure_logging
from retailhub.services.intake import receive_many

app = typer.Typer(
    help="retailhub: the governed layer between channels, payments and the books.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(inventory_app, name="inventory")
app.add_typer(ledger_app, name="ledger")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(items_app, name="items")
app.add_typer(settlements_app, name="settlements")
app.add_typer(bank_app, name="bank")
app.add_typer(pos_app, name="pos")
app.add_typer(reports_app, name="reports")
app.add_typer(close_app, name="close")
app.add_typer(erp_app, name="erp")
app.add_typer(alerts_app, name="alerts")
app.add_typer(prices_app, name="prices")
app.add_typer(channels_app, name="channels")
app.add_typer(square_app, name="square")
app.add_typer(tokens_app, name="tokens")
app.command("reconcile")(reconcile_command)


@app.callback()
def main(
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="RETAILHUB_DB",
            help="Database URL (sqlite:///file.db or postgresql://…).",
        ),
    ] = DEFAULT_DB_URL,
    config: Annotated[
        Path, typer.Option("--config", envvar="RETAILHUB_CONFIG", help="Configuration file.")
    ] = Path(config_module.DEFAULT_CONFIG),
) -> None:
    state.db, state.config = db, config
    configure_logging()  # JSON lines on stderr: stdout stays for --json output
    tune_gc()


@app.command()
def init() -> None:
    """Create retailhub.toml (if missing) and the database schema."""
    if not state.config.exists():
        from retailhub.demo.retailer import config_text

        state.config.write_text(config_text(secrets.token_hex(24)))
        console.print(f"wrote {state.config} (edit locations, channels and the Shopify secret)")
    open_hub()
    console.print(f"database ready at {state.db}")


@app.command()
def demo(
    orders: Annotated[int, typer.Option(help="Orders in the trading day.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same day.")] = 7,
    save_payloads: Annotated[
        Path | None,
        typer.Option("--save-payloads", help="Write every delivery to DIR/<seq>-<topic>.json."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build a demo retailer and run a trading day of signed Shopify deliveries through the hub."""
    from retailhub.demo.retailer import config_text
    from retailhub.demo.run import run_demo

    if not state.config.exists():
        state.config.write_text(config_text())
    hub = open_hub()
    with progress_bar() as progress:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(
                tasks[stage], completed=done if total else None, advance=None if total else done
            )

        result = run_demo(hub, orders, seed, save_payloads, tick)
    if as_json:
        print_json(result)
        return
    _print_summary(result, hub.settings.currency)


def _print_summary(r: dict[str, Any], currency: str) -> None:
    console.rule("[bold]retailhub demo: one trading day")
    console.print(
        f"deliveries received {r['events_received']}  applied {r['events_applied']}  "
        f"duplicates ignored {r['duplicates_ignored']}  "
        f"signatures rejected {r['signatures_rejected']}  "
        f"waiting {r['events_waiting']}  failed {r['events_failed']}"
    )
    console.print(
        f"orders {r['orders']} (cancelled {r['cancelled_orders']})  refunds "
        f"{r['refunds']}  returns {r['returns']}"
    )
    story = r.get("story")
    if story:
        picked = ", ".join(f"{f['kind']} at {f['location']}" for f in story["fulfilments"])
        back = ", ".join(
            f"{x['quantity']} {x['sku']} ({x['disposition']}) at {x['location']}, "
            f"refunded {format_minor(x['refund'], story['currency'])}"
            for x in story["returns"]
        )
        console.print(
            f"the seed's story, order {story['order']} "
            f"({format_minor(story['total'], story['currency'])} online): "
            f"{picked or 'not fulfilled'}; returned: {back or 'nothing'}"
        )
    atp = Table("SKU", *next(iter(r["atp"].values())).keys(), title="Available to promise")
    for sku, by_channel in r["atp"].items():
        atp.add_row(sku, *(str(v) for v in by_channel.values()))
    console.print(atp)
    tb = r["trial_balance"]
    console.print(
        f"trial balance: debits {format_minor(tb['debits'], currency)}  credits "
        f"{format_minor(tb['credits'], currency)}  "
        + ("[green]balanced[/green]" if tb["debits"] == tb["credits"] else "[red]UNBALANCED[/red]")
    )
    exc = Table("exception type", "open", title="Open exceptions")
    for kind, n in r["exceptions_open"].items():
        exc.add_row(kind, str(n))
    console.print(exc)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Captured delivery files or directories.")],
    as_json: JsonOpt = False,
) -> None:
    """Replay captured deliveries through intake (in the order given), then process them."""
    hub = open_hub()
    files = expand(paths)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "unreadable": 0}
    chunk: list[tuple[dict[str, str], bytes]] = []

    def store(uow: Any) -> None:
        by_source: dict[str, list[tuple[dict[str, str], bytes]]] = {}
        for headers, body in chunk:
            by_source.setdefault(source_of(headers), []).append((headers, body))
        for name, deliveries in by_source.items():
            for receipt in receive_many(uow, hub.sources[name], deliveries, hub.clock()):
                counts[receipt.status] += 1
        uow.commit()
        chunk.clear()

    with progress_bar() as progress, hub.uow() as uow:
        task = progress.add_task("intake", total=len(files))
        for path in files:
            progress.advance(task)
            try:
                headers, body = read_capture(path)
            except CaptureError as exc:
                err.print(f"[yellow]skipped[/yellow] {exc}")
                counts["unreadable"] += 1
                continue
            if source_of(headers) not in hub.sources:
                err.print(f"[yellow]skipped[/yellow] {path}: no connector for its headers")
                counts["unreadable"] += 1
                continue
            chunk.append((headers, body))
            if len(chunk) >= 500:
                store(uow)
        store(uow)
    stats = hub.processor().run_until_idle()
    result = {
        **counts,
        "applied": stats.applied,
        "waiting": stats.waiting,
        "failed": stats.failed,
        "problems": stats.by_problem,
    }
    if as_json:
        print_json(result)
    else:
        console.print(result)


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Readiness check: what will make integrations fail (exit 1 if anything blocks)."""
    try:
        settings = config_module.load(state.config)
    except config_module.ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    engine = make_engine(state.db)  # no migrating or syncing here: doctor only looks
    findings = check_all(engine, settings, utc_now())
    blocking = [f for f in findings if f.blocking]
    if as_json:
        print_json(
            {
                "ready": not blocking,
                "findings": [
                    {"check": f.check, "blocking": f.blocking, "message": f.message}
                    for f in findings
                ],
            }
        )
    else:
        for f in findings:
            console.print(
                ("[red]BLOCKING[/red] " if f.blocking else "[yellow]warning[/yellow] ")
                + f"{f.check}: {f.message}"
            )
        console.print(
            "[green]ready[/green]"
            if not blocking
            else f"[red]{len(blocking)} blocking finding(s)[/red]"
        )
    if blocking:
        raise typer.Exit(1)


@app.command()
def work(
    once: Annotated[bool, typer.Option(help="Drain the inbox once and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
    batch_size: Annotated[int | None, typer.Option(help="Deliveries per transaction.")] = None,
) -> None:
    """Run the worker: apply pending deliveries (forever, or --once).

    With channel credentials configured, stock changes are pushed to the channels as they
    happen (coalesced per push.interval_seconds); --once pushes before it exits. Accounting
    targets with erp.TARGET.push_every_minutes get new journals on that schedule.
    """
    import time

    hub = open_hub()
    if hub.push is not None and once:
        hub.push.interval = timedelta(0)  # one pass: what changes is pushed at the end
    if hub.push is not None and not once:
        hub.push.start()
    erp = ErpSchedule(hub)  # [erp.<target>] push_every_minutes
    try:
        while True:
            processor = hub.processor()  # a fresh run sees master data created meanwhile
            if batch_size:
                processor.batch_size = batch_size
            stats = processor.run_until_idle()
            if erp and not once:
                erp.run_due()
            if stats.applied or stats.failed:
                err.print(f"applied {stats.applied} failed {stats.failed} waiting {stats.waiting}")
            if once:
                if hub.push is not None:
                    hub.push.drain()
                return
            time.sleep(interval)
    finally:
        if hub.push is not None and not once:
            hub.push.stop()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Run the worker in the same process.")] = True,
) -> None:
    """Serve the HTTP API (webhooks at /webhooks/shopify, /stripe, /square) with a worker."""
    import uvicorn

    from retailhub.entrypoints.api.app import create_app

    uvicorn.run(create_app(open_hub(), run_worker=worker), host=host, port=port, log_level="info")
