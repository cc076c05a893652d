"""Financial reports from the built-in ledger: what a small retailer's accountant asks for.

Each command prints a Rich table (amounts per currency, via ``format_minor``) or, with
``--json``, integer minor units. Periods are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (the same
as ``retailhub ledger export --period``); a bad period or date exits with status 2.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from retailhub.adapters.exports.ledger import period_bounds
from retailhub.adapters.storage import reports
from retailhub.bootstrap import Hub
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json

reports_app = typer.Typer(help="Financial reports from the built-in ledger.", no_args_is_help=True)

PeriodOpt = Annotated[
    str, typer.Option("--period", help="YYYY, YYYY-MM or YYYY-MM-DD (entries dated in it).")
]


_PERIOD = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _bounds(period: str) -> tuple[date | None, date | None]:
    try:
        if not _PERIOD.fullmatch(period):  # period_bounds alone would take "26-1" as year 26
            raise ValueError(f"period {period!r}: use YYYY, YYYY-MM or YYYY-MM-DD")
        return period_bounds(period)
    except ValueError as exc:
        err.print(f"[red]--period: {exc}[/red]")
        raise typer.Exit(2) from exc


def _currencies(hub: Hub, found: list[str]) -> list[str]:
    """The currencies to show: those with lines, or the shop currency (all zeros) if none."""
    return sorted(set(found)) or [hub.settings.currency]


def _money(amount: int, currency: str) -> str:
    return f"{format_minor(amount, currency)} {currency}"


@reports_app.command("income-statement")
def income_statement(period: PeriodOpt, as_json: JsonOpt = False) -> None:
    """Income and expenses of entries dated in the period; net income = income − expenses."""
    start, end = _bounds(period)
    hub = open_hub()
    with hub.uow() as uow:
        found = reports.income_statement(uow.conn, start, end)
    statements = [found.get(c, reports.IncomeStatement(c)) for c in _currencies(hub, list(found))]
    if as_json:
        print_json({"period": period, "currencies": [s.as_json() for s in statements]})
        return
    for s in statements:
        table = Table("account", "amount", title=f"Income statement {period} ({s.currency})")
        table.add_row("[bold]Income", "")
        for a in s.income:
            table.add_row(f"  {a.account}", _money(a.amount, s.currency))
        table.add_row("[bold]Total income", _money(s.total_income, s.currency))
        table.add_row("[bold]Expenses", "")
        for a in s.expenses:
            table.add_row(f"  {a.account}", _money(a.amount, s.currency))
        table.add_row("[bold]Total expenses", _money(s.total_expenses, s.currency))
        table.add_row("[bold]Net income", _money(s.net_income, s.currency))
        console.print(table)


@reports_app.command("balance-sheet")
def balance_sheet(
    as_of: Annotated[str, typer.Option("--as-of", help="Last day included (YYYY-MM-DD).")],
    as_json: JsonOpt = False,
) -> None:
    """Assets, liabilities and equity (with earnings to date) as of the end of a day."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        err.print(f"[red]--as-of {as_of!r} is not a date (YYYY-MM-DD)[/red]")
        raise typer.Exit(2) from None
    hub = open_hub()
    try:
        with hub.uow() as uow:
            found = reports.balance_sheet(uow.conn, day)
    except reports.ReportError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    sheets = [found.get(c, reports.BalanceSheet(c, day)) for c in _currencies(hub, list(found))]
    if as_json:
        print_json({"as_of": day.isoformat(), "currencies": [s.as_json() for s in sheets]})
        return
    for s in sheets:
        table = Table("account", "amount", title=f"Balance sheet as of {as_of} ({s.currency})")
        for label, section, total in (
            ("Assets", s.assets, s.total_assets),
            ("Liabilities", s.liabilities, s.total_liabilities),
            ("Equity", s.equity, s.total_equity),
        ):
            table.add_row(f"[bold]{label}", "")
            for a in section:
                table.add_row(f"  {a.account}", _money(a.amount, s.currency))
            table.add_row(f"[bold]Total {label.lower()}", _money(total, s.currency))
        table.add_row(
            "[bold]Liabilities + equity",
            _money(s.total_liabilities + s.total_equity, s.currency),
        )
        console.print(table)


@reports_app.command("profit")
def profit(
    period: PeriodOpt,
    by: Annotated[str, typer.Option("--by", help="channel or location.")] = "channel",
    as_json: JsonOpt = False,
) -> None:
    """Income − expenses (COGS included) per channel or location; '(none)' for lines without."""
    if by not in reports.DIMENSIONS:
        err.print(f"[red]--by {by!r}: use channel or location[/red]")
        raise typer.Exit(2)
    start, end = _bounds(period)
    hub = open_hub()
    with hub.uow() as uow:
        rows = reports.profit_by(uow.conn, by, start, end)
    totals: dict[str, int] = {c: 0 for c in _currencies(hub, [r.currency for r in rows])}
    for r in rows:
        totals[r.currency] += r.profit
    if as_json:
        print_json(
            {"period": period, "by": by, "segments": [r.as_json() for r in rows], "total": totals}
        )
        return
    table = Table(by, "currency", "income", "expenses", "profit", title=f"Profit by {by} {period}")
    for r in rows:
        table.add_row(
            r.segment,
            r.currency,
            format_minor(r.income, r.currency),
            format_minor(r.expenses, r.currency),
            format_minor(r.profit, r.currency),
        )
    for currency, total in totals.items():
        table.add_row("[bold]total", currency, "", "", format_minor(total, currency))
    console.print(table)


def _roll_table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> Table:
    table = Table(*columns, title=title)
    for row in rows:
        currency = row["currency"]
        table.add_row(
            *(
                format_minor(row[c], currency) if isinstance(row[c], int) else str(row[c])
                for c in columns
            )
        )
    return table


@reports_app.command("sales-tax")
def sales_tax(period: PeriodOpt, as_json: JsonOpt = False) -> None:
    """Sales-tax liability per jurisdiction: opening, collected, refunded/reversed, closing."""
    start, end = _bounds(period)
    hub = open_hub()
    with hub.uow() as uow:
        rows = [r.as_json() for r in reports.sales_tax(uow.conn, hub.settings.accounts, start, end)]
    if as_json:
        print_json({"period": period, "jurisdictions": rows})
        return
    columns = ["jurisdiction", "currency", "opening", "collected", "refunded", "closing"]
    console.print(_roll_table(f"Sales tax liability {period}", columns, rows))


@reports_app.command("gift-cards")
def gift_cards(period: PeriodOpt, as_json: JsonOpt = False) -> None:
    """Gift-card liability: opening, issued, redeemed, breakage, other, closing."""
    start, end = _bounds(period)
    hub = open_hub()
    with hub.uow() as uow:
        found = reports.gift_cards(uow.conn, hub.settings.accounts, start, end)
    account = hub.settings.accounts.gift_cards
    by_currency = {r.currency: r for r in found}
    rows = [
        by_currency.get(c, reports.GiftCardRollForward(account, c, 0, 0, 0, 0, 0)).as_json()
        for c in _currencies(hub, list(by_currency))
    ]
    if as_json:
        print_json({"period": period, "gift_cards": rows})
        return
    columns = ["currency", "opening", "issued", "redeemed", "breakage", "other", "closing"]
    console.print(_roll_table(f"Gift card liability ({account}) {period}", columns, rows))
