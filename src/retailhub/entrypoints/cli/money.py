"""``retailhub settlements …``, ``retailhub bank …`` and ``retailhub reconcile``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from retailhub.adapters.files.bank import BankFileError, read_bank_statement
from retailhub.adapters.files.settlements import (
    FORMATS,
    SettlementFileError,
    count_lines,
    read_settlements,
)
from retailhub.adapters.storage.money_records import SqlMoneyRecords
from retailhub.domain.money import format_minor
from retailhub.domain.reconciliation import MatchPolicy
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    progress_bar,
)
from retailhub.services.reconcile import run_reconciliation
from retailhub.services.settlement_import import import_settlements

settlements_app = typer.Typer(
    help="Gateway and marketplace settlements (payouts).", no_args_is_help=True
)

FormatOpt = Annotated[
    str,
    typer.Option("--format", help=f"Settlement file format: {' | '.join(FORMATS)}."),
]


@settlements_app.command("import")
def settlements_import(
    file: Annotated[Path, typer.Argument(help="The settlement file to import.")],
    file_format: FormatOpt,
    as_json: JsonOpt = False,
) -> None:
    """Import a settlement file: stored and posted (clearing → bank, fees, commissions).

    The whole file is checked first; a malformed file is refused with its line number and
    nothing is imported. Settlements already imported are skipped.
    """
    if file_format not in FORMATS:
        err.print(f"[red]unknown format {file_format!r}[/red] (one of {', '.join(FORMATS)})")
        raise typer.Exit(2)
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    hub = open_hub()
    with progress_bar() as progress:
        task = progress.add_task(f"reading {file.name}", total=count_lines(file))
        try:
            found = read_settlements(file, file_format, lambda n: progress.advance(task, n))
        except SettlementFileError as exc:
            if as_json:
                print_json({"imported": [], "error": str(exc), "line": exc.line})
            else:
                err.print(f"[red]{file}:{exc.line}: {exc.message}[/red]")
                err.print("nothing imported")
            raise typer.Exit(1) from exc
        total_lines = sum(len(s.lines) for s in found)
        posting = progress.add_task("posting", total=total_lines)
        with hub.uow() as uow:
            outcome = import_settlements(
                uow,
                hub.settings.rules(),
                found,
                file.name,
                hub.clock(),
                lambda n: progress.advance(posting, n),
            )
            if not outcome.blocked:
                uow.commit()
    if outcome.blocked:  # a file is all or nothing: import it again once the rates are there
        reasons = [f"{label}: {problem.reason}" for label, problem in outcome.blocked]
        if as_json:
            print_json({"imported": [], "error": "; ".join(reasons), "line": 0})
        else:
            for reason in reasons:
                err.print(f"[red]{reason}[/red]")
            err.print("nothing imported")
        raise typer.Exit(1)
    result = {
        "file": str(file),
        "format": file_format,
        "imported": outcome.imported,
        "duplicates": outcome.duplicates,
        "lines": outcome.lines,
        "settlements": [
            {
                "gateway": s.gateway,
                "settlement_id": s.settlement_id,
                "currency": s.currency,
                "total": s.total,
                "deposit_date": s.deposit_date.isoformat() if s.deposit_date else None,
                "lines": len(s.lines),
            }
            for s in found
        ],
    }
    if as_json:
        print_json(result)
        return
    for s in found:
        status = (
            "skipped (already imported)"
            if f"{s.gateway}:{s.settlement_id}" in outcome.duplicates
            else "imported"
        )
        console.print(
            f"{s.gateway} {s.settlement_id}: {len(s.lines)} lines, "
            f"net {format_minor(s.total, s.currency)} {s.currency}"
            + (f", deposit {s.deposit_date}" if s.deposit_date else "")
            + f" — {status}"
        )


bank_app = typer.Typer(help="Bank statements: where payouts must land.", no_args_is_help=True)


@bank_app.command("import")
def bank_import(
    file: Annotated[Path, typer.Argument(help="Bank statement: CSV, CAMT.053 (XML) or OFX.")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="csv | camt053 | ofx (default: detected from the content)."),
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Account name for a CSV without one.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a bank statement; lines already imported (overlapping statements) are skipped."""
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    hub = open_hub()
    try:
        lines = read_bank_statement(file, file_format, account)
    except BankFileError as exc:
        if as_json:
            print_json({"imported": 0, "error": str(exc), "line": exc.line})
        else:
            err.print(f"[red]{file}:{exc.line}: {exc.message}[/red]")
            err.print("nothing imported")
        raise typer.Exit(1) from exc
    with hub.uow() as uow:
        added = SqlMoneyRecords(uow.conn).add_bank_lines(lines, file.name, hub.clock())
        uow.commit()
    result = {
        "file": str(file),
        "lines": len(lines),
        "imported": added,
        "already_imported": len(lines) - added,
    }
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{file.name}: {len(lines)} lines, {added} new, {len(lines) - added} already imported"
        )


def reconcile_command(
    gateway: Annotated[
        str | None, typer.Option("--gateway", help="Only this gateway (stripe, amazon, …).")
    ] = None,
    on_date: Annotated[
        str | None,
        typer.Option("--date", help="Report the settlements deposited on this day (YYYY-MM-DD)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Match expected receipts against settlement lines and payouts against the bank.

    Reports the settlement match rate and every unmatched item (missing from settlement,
    unknown in settlement, amount variance); each is queued as an exception for finance.
    Exit status 1 when anything is unmatched.
    """
    day = None
    if on_date:
        try:
            day = date.fromisoformat(on_date)
        except ValueError:
            err.print(f"[red]--date {on_date!r} is not a date (YYYY-MM-DD)[/red]")
            raise typer.Exit(2) from None
    hub = open_hub()
    settings = hub.settings.reconciliation
    policy = MatchPolicy(
        amount_tolerance=settings.amount_tolerance, date_window_days=settings.date_window_days
    )
    with hub.uow() as uow:
        report = run_reconciliation(
            uow,
            SqlMoneyRecords(uow.conn),
            policy,
            hub.clock(),
            hub.settings.rules().gateway(gateway) if gateway else None,
            day,
        )
        uow.commit()
    data = report.as_dict()
    if as_json:
        print_json(data)
    else:
        _print_report(data)
    unmatched = data["unmatched"] or any(d["outcome"] != "matched" for d in data["deposits"])
    if unmatched:
        raise typer.Exit(1)


def _print_report(data: dict[str, Any]) -> None:
    rate = data["match_rate"]
    scope = " ".join(x for x in (data["gateway"], data["date"]) if x) or "all gateways"
    console.print(
        f"[bold]Settlement reconciliation[/bold] ({scope}): "
        + (
            f"{rate:.2%} of {data['matchable_lines']} settlement lines matched"
            if rate is not None
            else "no settlement lines"
        )
    )
    counts = ", ".join(f"{k} {v}" for k, v in data["counts"].items() if v)
    if counts:
        console.print(f"  {counts}")
    if data["unmatched"]:
        table = Table("outcome", "gateway", "reference", "expected", "settled", "variance")
        for f in data["unmatched"]:
            ref = ", ".join(
                filter(
                    None,
                    [r["receipt_id"] for r in f["receipts"]]
                    + [f"{ln['settlement_id']}#{ln['line_no']}" for ln in f["lines"]],
                )
            )
            cur = f["currency"]
            table.add_row(
                f["outcome"],
                f["gateway"],
                ref,
                format_minor(f["expected"], cur),
                format_minor(f["settled"], cur),
                format_minor(f["variance"], cur),
            )
        console.print(table)
    if data["deposits"]:
        table = Table("payout", "outcome", "amount", "bank line")
        for d in data["deposits"]:
            cur = d["currency"] or ""
            bank = d["bank_line"]
            table.add_row(
                d["settlement"] or "-",
                d["outcome"],
                format_minor(d["payout"], cur) if d["payout"] is not None else "-",
                f"{bank['booked_on']} {format_minor(bank['amount'], cur)} {bank['reference']}"
                if bank
                else "-",
            )
        console.print(table)
