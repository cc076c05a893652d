"""The general ledger: trial balance, exports and daily summaries."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.exports import ledger as ledger_exports
from retailhub.adapters.storage import queries
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
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
