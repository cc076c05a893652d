"""The general ledger: trial balance, exports, daily summaries and posting previews."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.exports import ledger as ledger_exports
from retailhub.adapters.storage import queries
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.captures import CaptureError, read_capture, source_of
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.services.preview import Preview, preview_delivery
from retailhub.services.summaries import summarise

ledger_app = typer.Typer(help="The general ledger.", no_args_is_help=True)


@ledger_app.command("trial-balance")
def trial_balance(as_json: JsonOpt = False) -> None:
    """Debits, credits and balance per account."""
    hub = open_hub()
    with hub.uow() as uow:
        rows = queries.trial_balance(uow.conn)
    debits, credits = sum(r["debits"] for r in rows), sum(r["credits"] for r in rows)
    if as_json:
        print_json(
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
    file_format: Annotated[
        str, typer.Option("--format", help="beancount, hledger or csv.")
    ] = "beancount",
    period: Annotated[
        str | None, typer.Option(help="Only entries dated in YYYY, YYYY-MM or YYYY-MM-DD.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to FILE instead of standard output.")
    ] = None,
) -> None:
    """Export the journal for plain-text accounting tools (bean-check, hledger) or a sheet."""
    if file_format not in ledger_exports.FORMATS:
        err.print(f"[red]unknown format {file_format!r}[/red]: {', '.join(ledger_exports.FORMATS)}")
        raise typer.Exit(2)
    try:
        ledger_exports.period_bounds(period)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    hub = open_hub()
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


@ledger_app.command("summarise")
def summarise_days(
    through: Annotated[
        str | None,
        typer.Option("--through", help="Last business day to post (YYYY-MM-DD; default: all)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Post the held entries of daily-summary channels as one entry per store and day.

    The worker does this for every business day that has ended; this posts on demand (for
    example today's takings before a report).
    """
    day = None
    if through:
        try:
            day = date.fromisoformat(through)
        except ValueError:
            err.print(f"[red]--through {through!r} is not a date (YYYY-MM-DD)[/red]")
            raise typer.Exit(2) from None
    hub = open_hub()
    with hub.uow() as uow:
        result = summarise(uow, hub.clock(), day)
        uow.commit()
    if as_json:
        print_json({"summary_entries": result.entries, "entries_summarised": result.staged})
    else:
        console.print(f"posted {result.entries} summary entries for {result.staged} held entries")


@ledger_app.command("preview")
def ledger_preview(
    event_file: Annotated[
        Path,
        typer.Argument(
            help="A captured delivery ({topic, headers, body} JSON, as `ingest` reads) or a bare "
            "channel payload (then give --topic)."
        ),
    ],
    topic: Annotated[
        str | None, typer.Option(help="The topic of a bare payload, e.g. orders/create.")
    ] = None,
    source: Annotated[
        str, typer.Option(help="The connector of a bare payload: shopify, stripe, square.")
    ] = "shopify",
    as_json: JsonOpt = False,
) -> None:
    """Show the journal entries a delivery would post, without posting anything.

    The delivery runs through the real translation, posting rules and handlers against the
    current books, in a transaction that is rolled back. Signatures are not checked (a
    hand-made file previews too). Exit 1 when the delivery would be blocked or wait.
    """
    hub = open_hub()
    headers, body, found_topic, name = _read_event(event_file, topic, source)
    connector = hub.sources.get(name)
    if connector is None:
        err.print(f"[red]no {name} connector is configured[/red]")
        raise typer.Exit(2)
    found_topic = found_topic or connector.topic(headers, body)
    result = preview_delivery(
        hub.uow, connector, found_topic, body, hub.settings.rules(), hub.clock()
    )
    if as_json:
        print_json(result.as_dict())
    else:
        _print_preview(result)
    if result.blocked or result.waiting_on:
        raise typer.Exit(1)


def _read_event(
    path: Path, topic: str | None, source: str
) -> tuple[dict[str, str], bytes, str | None, str]:
    if not path.exists():
        err.print(f"[red]{path}: not found[/red]")
        raise typer.Exit(2)
    try:
        headers, body = read_capture(path)
        # Connectors read header names lower-cased, as intake hands them over.
        return {k.lower(): v for k, v in headers.items()}, body, topic, source_of(headers)
    except CaptureError:
        pass
    if topic is None:
        err.print(f"[red]{path} is a bare payload: give its --topic (e.g. orders/create)[/red]")
        raise typer.Exit(2)
    return {}, path.read_bytes(), topic, source


def _print_preview(result: Preview) -> None:
    if result.blocked:
        console.print(
            f"[red]would be refused[/red] ({result.blocked.type.value}): {result.blocked.reason}"
        )
    if result.waiting_on:
        console.print(f"[yellow]would wait[/yellow] for {result.waiting_on} to arrive first")
    for p in result.problems:
        console.print(f"[yellow]would raise[/yellow] {p.type.value}: {p.reason}")
    if not result.entries and not (result.blocked or result.waiting_on):
        console.print("would post nothing (already applied, or nothing to post)")
    for e in result.entries:
        entry = e.entry
        held = " [dim](held for the daily summary)[/dim]" if e.held_for_summary else ""
        table = Table(
            title=f"{entry.entry_date} {entry.memo}{held}",
            caption=f"{entry.key} · rule {entry.rule_version or 'default'}",
        )
        table.add_column("account", overflow="fold")  # account names are the point: never cut
        for name in ("debit", "credit", "channel", "location", "brand", "memo"):
            table.add_column(name)
        for line in entry.lines:
            table.add_row(
                line.account,
                format_minor(line.debit, line.currency) if line.debit else "",
                format_minor(line.credit, line.currency) if line.credit else "",
                line.channel or "",
                line.location or "",
                line.brand or "",
                line.memo or "",
            )
        console.print(table)
