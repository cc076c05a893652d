"""The ``retailhub`` command line (Typer + Rich)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from retailhub import config as config_module
from retailhub.adapters.exports import ledger as ledger_exports
from retailhub.adapters.files.items import read_items
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.catalog_repo import SqlCatalogRepository
from retailhub.adapters.storage.readiness import check_all
from retailhub.bootstrap import DEFAULT_DB_URL, Hub, bootstrap, make_engine, utc_now
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.captures import CaptureError, expand, read_capture
from retailhub.entrypoints.runtime import tune_gc
from retailhub.services import exception_actions
from retailhub.services.commands import receive_stock
from retailhub.services.intake import receive_many

app = typer.Typer(
    help="retailhub: the governed layer between channels, payments and the books.",
    no_args_is_help=True,
    add_completion=False,
)
inventory_app = typer.Typer(help="Stock positions and available-to-promise.", no_args_is_help=True)
ledger_app = typer.Typer(help="The general ledger.", no_args_is_help=True)
exceptions_app = typer.Typer(help="The exception queue.", no_args_is_help=True)
items_app = typer.Typer(help="The item master.", no_args_is_help=True)
app.add_typer(inventory_app, name="inventory")
app.add_typer(ledger_app, name="ledger")
app.add_typer(exceptions_app, name="exceptions")
app.add_typer(items_app, name="items")

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class State:
    db: str = DEFAULT_DB_URL
    config: Path = Path(config_module.DEFAULT_CONFIG)


state = State()


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
    tune_gc()


def _hub() -> Hub:
    try:
        settings = config_module.load(state.config)
    except config_module.ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    return bootstrap(settings, state.db)


def _print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


@app.command()
def init() -> None:
    """Create retailhub.toml (if missing) and the database schema."""
    if not state.config.exists():
        from retailhub.demo.retailer import config_text

        state.config.write_text(config_text(secrets.token_hex(24)))
        console.print(f"wrote {state.config} (edit locations, channels and the Shopify secret)")
    _hub()
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
    hub = _hub()
    with _progress() as progress:
        tasks: dict[str, Any] = {}

        def tick(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total or None)
            progress.update(
                tasks[stage], completed=done if total else None, advance=None if total else done
            )

        result = run_demo(hub, orders, seed, save_payloads, tick)
    if as_json:
        _print_json(result)
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
        back = ", ".join(f"{x['quantity']} {x['sku']} ({x['disposition']}) at {x['location']}, "
                         f"refunded {format_minor(x['refund'], story['currency'])}"
                         for x in story["returns"])
        console.print(f"the seed's story, order {story['order']} "
                      f"({format_minor(story['total'], story['currency'])} online): "
                      f"{picked or 'not fulfilled'}; returned: {back or 'nothing'}")
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
    hub = _hub()
    files = expand(paths)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "unreadable": 0}
    chunk: list[tuple[dict[str, str], bytes]] = []

    def store(uow: Any) -> None:
        for receipt in receive_many(uow, hub.sources["shopify"], chunk, hub.clock()):
            counts[receipt.status] += 1
        uow.commit()
        chunk.clear()

    with _progress() as progress, hub.uow() as uow:
        task = progress.add_task("intake", total=len(files))
        for path in files:
            progress.advance(task)
            try:
                headers, body = read_capture(path)
            except CaptureError as exc:
                err.print(f"[yellow]skipped[/yellow] {exc}")
                counts["unreadable"] += 1
                continue
            if _source_of(headers) not in hub.sources:
                err.print(f"[yellow]skipped[/yellow] {path}: no connector for its headers")
                counts["unreadable"] += 1
                continue
            chunk.append((headers, body))
            if len(chunk) >= 500:
                store(uow)
        store(uow)
    stats = hub.processor().run_until_idle()
    result = {**counts, "applied": stats.applied, "waiting": stats.waiting,
              "failed": stats.failed, "problems": stats.by_problem}
    if as_json:
        _print_json(result)
    else:
        console.print(result)


def _source_of(headers: dict[str, str]) -> str:
    lowered = {k.lower() for k in headers}
    return "shopify" if "x-shopify-topic" in lowered else "unknown"


@app.command()
def doctor(as_json: JsonOpt = False) -> None:
    """Readiness check: what will make integrations fail (exit 1 if anything blocks)."""
    try:
        settings = config_module.load(state.config)
    except config_module.ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    engine = make_engine(state.db)  # no migrating or syncing here: doctor only looks
    findings = check_all(engine, settings, utc_now())
    blocking = [f for f in findings if f.blocking]
    if as_json:
        _print_json({"ready": not blocking, "findings": [
            {"check": f.check, "blocking": f.blocking, "message": f.message} for f in findings]})
    else:
        for f in findings:
            console.print(("[red]BLOCKING[/red] " if f.blocking else "[yellow]warning[/yellow] ")
                          + f"{f.check}: {f.message}")
        console.print("[green]ready[/green]" if not blocking
                      else f"[red]{len(blocking)} blocking finding(s)[/red]")
    if blocking:
        raise typer.Exit(1)


@app.command()
def work(
    once: Annotated[bool, typer.Option(help="Drain the inbox once and exit.")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between polls.")] = 1.0,
    batch_size: Annotated[int | None, typer.Option(help="Deliveries per transaction.")] = None,
) -> None:
    """Run the worker: apply pending deliveries (forever, or --once)."""
    import time

    hub = _hub()
    while True:
        processor = hub.processor()  # a fresh run sees master data created meanwhile
        if batch_size:
            processor.batch_size = batch_size
        stats = processor.run_until_idle()
        if stats.applied or stats.failed:
            err.print(f"applied {stats.applied} failed {stats.failed} waiting {stats.waiting}")
        if once:
            return
        time.sleep(interval)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Run the worker in the same process.")] = True,
) -> None:
    """Serve the HTTP API (webhooks at /webhooks/shopify) with an in-process worker."""
    import uvicorn

    from retailhub.entrypoints.api.app import create_app

    uvicorn.run(create_app(_hub(), run_worker=worker), host=host, port=port, log_level="info")


@inventory_app.command("atp")
def inventory_atp(
    sku: Annotated[str, typer.Argument(help="The SKU.")],
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Available-to-promise per channel, with the positions behind it."""
    hub = _hub()
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
        _print_json(
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
    hub = _hub()
    codes = {loc.code for loc in hub.settings.locations}
    if location not in codes:
        err.print(f"[red]unknown location {location!r}[/red]; configured: {', '.join(sorted(codes))}")
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
    result = {"sku": sku, "location": location, "received": quantity,
              "on_hand": position.on_hand, "reference": ref}
    if as_json:
        _print_json(result)
    else:
        console.print(f"received {quantity} {sku} at {location}; on hand now {position.on_hand}")


@items_app.command("import")
def items_import(
    file: Annotated[Path, typer.Argument(help="Item master file (.csv or .json).")],
    file_format: Annotated[str | None, typer.Option(
        "--format", help="csv or json (default: from the file name).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import or update items (with their Shopify ids); any bad row and nothing is imported."""
    hub = _hub()
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    rows, errors = read_items(file, hub.settings.currency, file_format)
    if errors:
        if as_json:
            _print_json({"imported": 0, "errors": [str(e) for e in errors]})
        else:
            for e in errors:
                err.print(f"[red]{file}:{e}[/red]")
            err.print(f"{len(errors)} bad row(s): nothing imported")
        raise typer.Exit(1)
    with _progress() as progress, hub.uow() as uow:
        task = progress.add_task("items", total=len(rows))
        catalog = SqlCatalogRepository(uow.conn)
        for i in range(0, len(rows), 1000):  # one transaction: all rows or none
            chunk = rows[i:i + 1000]
            catalog.save_items(((r.item, r.identities) for r in chunk), "shopify")
            progress.advance(task, len(chunk))
        uow.commit()
    if as_json:
        _print_json({"imported": len(rows), "errors": []})
    else:
        console.print(f"imported {len(rows)} item(s) from {file}")


@ledger_app.command("trial-balance")
def trial_balance(as_json: JsonOpt = False) -> None:
    """Debits, credits and balance per account."""
    hub = _hub()
    with hub.uow() as uow:
        rows = queries.trial_balance(uow.conn)
    debits, credits = sum(r["debits"] for r in rows), sum(r["credits"] for r in rows)
    if as_json:
        _print_json(
            {"accounts": rows, "debits": debits, "credits": credits, "balanced": debits == credits}
        )
        return
    cur = hub.settings.currency
    table = Table("account", "debits", "credits", "balance", title="Trial balance")
    for r in rows:
        table.add_row(
            r["account"],
            format_minor(r["debits"], r["currency"]),
            format_minor(r["credits"], r["currency"]),
            format_minor(r["balance"], r["currency"]),
        )
    table.add_row("[bold]total", format_minor(debits, cur), format_minor(credits, cur), "")
    console.print(table)


@ledger_app.command("export")
def ledger_export(
    file_format: Annotated[str, typer.Option(
        "--format", help="beancount, hledger or csv.")] = "beancount",
    period: Annotated[str | None, typer.Option(
        help="Only entries dated in YYYY, YYYY-MM or YYYY-MM-DD.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write to FILE instead of standard output.")] = None,
) -> None:
    """Export the journal for plain-text accounting tools (bean-check, hledger) or a sheet."""
    if file_format not in ledger_exports.FORMATS:
        err.print(f"[red]unknown format {file_format!r}[/red]: "
                  f"{', '.join(ledger_exports.FORMATS)}")
        raise typer.Exit(2)
    try:
        ledger_exports.period_bounds(period)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    hub = _hub()
    with hub.uow() as uow:
        txns = list(ledger_exports.transactions(uow.conn, period))
    if file_format == "beancount":
        text = ledger_exports.beancount(txns, hub.settings.currency)
    elif file_format == "hledger":
        text = ledger_exports.hledger(txns)
    else:
        text = ledger_exports.csv_text(txns)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        err.print(f"wrote {len(txns)} entries to {output}")


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[str, typer.Option(help="open, retrying, resolved, ignored or all.")] = "open",
    exception_type: Annotated[str | None, typer.Option(
        "--type", help="Only this type (unknown_sku, invalid_payload, …).")] = None,
    owner: Annotated[str | None, typer.Option(
        help="Only this owner team (finance, store_ops, ecommerce, it).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The exception queue, most urgent first."""
    hub = _hub()
    with hub.uow() as uow:
        rows = queries.list_exceptions(uow.conn, None if status == "all" else status,
                                       type_=exception_type, owner=owner)
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "type", "owner", "prio", "status", "reason", title="Exceptions")
    for r in rows:
        table.add_row(
            str(r["id"]), r["type"], r["owner"], str(r["priority"]), r["status"], r["reason"]
        )
    console.print(table)


@exceptions_app.command("show")
def exceptions_show(
    exception_id: Annotated[int, typer.Argument(help="The exception.")],
    as_json: JsonOpt = False,
) -> None:
    """One exception: its reason, the delivery behind it, and who did what when."""
    hub = _hub()
    with hub.uow() as uow:
        detail = queries.exception_detail(uow.conn, exception_id)
    if detail is None:
        err.print(f"[red]no exception {exception_id}[/red]")
        raise typer.Exit(1)
    if as_json:
        _print_json(detail)
        return
    console.print(f"#{detail['id']} {detail['type']} ({detail['status']}, owner "
                  f"{detail['owner']}, priority {detail['priority']}): {detail['reason']}")
    if detail.get("delivery"):
        d = detail["delivery"]
        console.print(f"delivery: {d['source']} {d['topic']} {d['event_id']} ({d['status']}, "
                      f"{d['attempts']} attempt(s))")
    for a in detail["audit"]:
        console.print(f"  {a['at']}  {a['actor']}  {a['action']}  {a['result'] or ''}")


@exceptions_app.command("ignore")
def exceptions_ignore(
    exception_id: Annotated[int, typer.Argument(help="The exception to close.")],
    reason: Annotated[str, typer.Option(help="Why it needs no fix (kept on the audit trail).")],
    as_json: JsonOpt = False,
) -> None:
    """Close an exception without applying its delivery, with a reason."""
    hub = _hub()
    with hub.uow() as uow:
        outcome = exception_actions.ignore(uow, exception_id, reason, hub.clock())
        uow.commit()
    result = {"id": exception_id, "action": outcome.status, "detail": outcome.detail}
    if as_json:
        _print_json(result)
    else:
        console.print(f"#{exception_id}: {outcome.status} ({outcome.detail})")
    if outcome.status != "ignored":
        raise typer.Exit(1)


@exceptions_app.command("retry")
def exceptions_retry(
    exception_id: Annotated[int | None, typer.Argument(help="The exception to retry.")] = None,
    all_open: Annotated[bool, typer.Option("--all", help="Retry every open exception.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Retry a failed delivery (after fixing its cause), then process the inbox."""
    if (exception_id is None) == (not all_open):
        err.print("give an exception ID or --all")
        raise typer.Exit(2)
    hub = _hub()
    with hub.uow() as uow:
        ids = uow.exceptions.open_ids() if all_open else [exception_id or 0]
        outcomes = [exception_actions.retry(uow, i, hub.sources, hub.clock()) for i in ids]
        uow.commit()
    stats = hub.processor().run_until_idle()
    with hub.uow() as uow:
        final = {
            o.exception_id: (uow.exceptions.get(o.exception_id) or {}).get("status")
            for o in outcomes
        }
    result = [
        {
            "id": o.exception_id,
            "action": o.status,
            "detail": o.detail,
            "status": final[o.exception_id],
        }
        for o in outcomes
    ]
    if as_json:
        _print_json({"retried": result, "applied": stats.applied, "failed": stats.failed})
        return
    for r in result:
        console.print(f"#{r['id']}: {r['action']} ({r['detail']}) -> now {r['status']}")
    if any(o.status == "not-found" for o in outcomes):
        raise typer.Exit(1)
