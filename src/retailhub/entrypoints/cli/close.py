"""``retailhub close``: is the month ready to close (``check``), close it (``lock``), see what
is closed (``list``), and the controller's escape hatch (``reopen``).

A closed month's figures are final: an entry dated in it is posted on the first open day
after it instead, flagged for finance (``domain/periods.py``, ``adapters/storage/ledger_repo.py``).
"""

from __future__ import annotations

import getpass
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from retailhub.adapters.exports.ledger import period_bounds
from retailhub.adapters.storage import periods_repo
from retailhub.adapters.storage.close_readiness import check_close
from retailhub.domain.periods import ClosedPeriod
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.observability import get_logger

close_app = typer.Typer(help="Period close: readiness, locking, reopening.", no_args_is_help=True)
log = get_logger("retailhub.close")
ByOpt = Annotated[
    str | None, typer.Option("--by", help="Who does it, for the record (default: the OS user).")
]


@close_app.command("check")
def close_check(
    period: Annotated[str, typer.Argument(help="YYYY-MM (or YYYY, YYYY-MM-DD).")],
    as_json: JsonOpt = False,
) -> None:
    """Close readiness: every day posted, nothing unposted, every settlement reconciled (run
    `retailhub reconcile` first), open exceptions by owner; and whether the period is closed
    already. Exit status 1 when not ready."""
    try:
        start, end = period_bounds(period)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    assert start is not None and end is not None
    hub = open_hub()
    with hub.engine.connect() as conn:
        report = check_close(conn, period, start, end)
    data = report.as_dict()
    if as_json:
        print_json(data)
    else:
        mark = {True: "[green]yes[/green]", False: "[red]no[/red]"}
        console.print(f"[bold]Close readiness {period}[/bold]: {mark[report.ready]}")
        if report.closed:
            console.print(
                f"  closed: [bold]yes[/bold] ({report.closed['period']}, on "
                f"{report.closed['closed_at']:%Y-%m-%d %H:%M} UTC by {report.closed['closed_by']})"
            )
        else:
            console.print("  closed: no")
        console.print(
            f"  every day posted: {mark[not report.held_entries]}"
            + (f" (held: {report.held_entries})" if report.held_entries else "")
        )
        console.print(
            f"  nothing unposted: {mark[not report.unposted]}"
            + (f" ({report.unposted})" if report.unposted else "")
        )
        console.print(f"  every settlement reconciled: {mark[not report.unreconciled]}")
        for line in report.unreconciled:
            console.print(f"    {line}")
        console.print(
            "  open exceptions by owner: "
            + (", ".join(f"{k} {v}" for k, v in report.open_exceptions.items()) or "none")
        )
    if not report.ready:
        raise typer.Exit(1)


@close_app.command("lock")
def close_lock(
    period: Annotated[str, typer.Argument(help="The month, YYYY-MM.")],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Lock although not ready or not over; recorded as '(forced)' after the name.",
        ),
    ] = False,
    by: ByOpt = None,
) -> None:
    """Close a month. From then on an entry dated in it (a late refund, a reversal) is posted
    on the first open day after it, its memo saying where it belongs, with a `period_closed`
    exception for finance; the month's own figures no longer change. Refused (exit 1, with
    the reasons) unless `close check` says ready and the month is over, or with --force;
    refused too when the month is closed already."""
    closing = _month(period)
    who = by or _os_user()
    hub = open_hub()
    now = hub.clock()
    with hub.engine.begin() as conn:
        periods_repo.exclusive(conn)  # postings in flight finish first; new ones wait
        already = periods_repo.covering(conn, closing.start, closing.end)
        if already is not None:
            err.print(f"[red]{closing.period} is closed already[/red] ({_who_when(already)})")
            raise typer.Exit(1)
        report = check_close(conn, closing.period, closing.start, closing.end + timedelta(days=1))
        reasons = report.reasons()
        if now.astimezone(hub.settings.timezone).date() <= closing.end:
            reasons.append(f"the month is not over: it ends {closing.end}")
        if reasons and not force:
            err.print(f"[red]{closing.period} not locked[/red]: not ready to close")
            for reason in reasons:
                err.print(f"  {reason}")
            err.print("Fix these (see `retailhub close check`), or lock with --force.")
            raise typer.Exit(1)
        closed_by = f"{who} (forced)" if reasons else who
        periods_repo.close(conn, closing, now, closed_by)
        overridden = "; ".join(reasons) if reasons else None
        periods_repo.record_event(
            conn, closing.period, "locked", now, who, bool(reasons), overridden
        )
    log.info(
        "period.locked",
        period=closing.period,
        by=who,
        forced=bool(reasons),
        overridden=reasons,
    )
    console.print(
        f"[bold]{closing.period} locked[/bold] ({closing.start} to {closing.end}) by {who}: "
        f"entries dated in it now post on {closing.end + timedelta(days=1)} or later"
    )
    if reasons:
        console.print("[yellow]forced past:[/yellow]")
        for reason in reasons:
            console.print(f"  {reason}")


@close_app.command("list")
def close_list(as_json: JsonOpt = False) -> None:
    """Closed periods, oldest first: their days, when and by whom each was closed."""
    hub = open_hub()
    with hub.engine.connect() as conn:
        rows = [_row(r) for r in periods_repo.closed(conn)]
    if as_json:
        print_json(rows)
        return
    table = Table("period", "from", "to", "closed at (UTC)", "closed by", title="Closed periods")
    for r in rows:
        table.add_row(
            r["period"],
            r["start_date"],
            r["end_date"],
            r["closed_at"][:16].replace("T", " "),
            r["closed_by"] or "",
        )
    console.print(table if rows else "No closed periods.")


@close_app.command("history")
def close_history(
    period: Annotated[str | None, typer.Argument(help="One month, YYYY-MM (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every lock and reopening, oldest first: when, who, forced or not, and why."""
    hub = open_hub()
    with hub.engine.connect() as conn:
        rows = [{**r, "at": r["at"].isoformat()} for r in periods_repo.events(conn, period)]
    if as_json:
        print_json(rows)
        return
    table = Table("period", "action", "at (UTC)", "by", "forced", "reason", title="Period history")
    for r in rows:
        table.add_row(
            r["period"],
            r["action"],
            r["at"][:16].replace("T", " "),
            r["by"],
            "yes" if r["forced"] else "",
            r["reason"] or "",
        )
    console.print(table if rows else "Nothing locked or reopened yet.")


@close_app.command("reopen")
def close_reopen(
    period: Annotated[str, typer.Argument(help="The closed month, YYYY-MM.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is reopened (required).")],
    by: ByOpt = None,
) -> None:
    """Reopen a closed month (the controller's escape hatch): entries may be dated in it
    again. What was posted on an open day for it meanwhile stays there (entries are never
    edited; reverse one if it must move). The reopening, who and why, is printed and logged
    (event `period.reopened`). Exit 1 when the month is not closed."""
    month = _month(period)
    if not reason.strip():
        err.print("[red]a reason is required[/red]")
        raise typer.Exit(2)
    who = by or _os_user()
    hub = open_hub()
    with hub.engine.begin() as conn:
        periods_repo.exclusive(conn)
        was = periods_repo.get(conn, month.period)
        if was is None:
            err.print(f"[red]{month.period} is not closed[/red]")
            raise typer.Exit(1)
        periods_repo.reopen(conn, month.period)
        periods_repo.record_event(
            conn, month.period, "reopened", hub.clock(), who, False, reason.strip()
        )
    log.warning(
        "period.reopened",
        period=month.period,
        by=who,
        reason=reason.strip(),
        closed_at=was["closed_at"].isoformat(),
        closed_by=was["closed_by"],
    )
    console.print(
        f"[bold]{month.period} reopened[/bold] by {who}: {reason.strip()} "
        f"(it was closed {_who_when(was)})"
    )


def _month(period: str) -> ClosedPeriod:
    try:
        return ClosedPeriod.month(period)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "unknown"


def _who_when(row: Any) -> str:
    return f"on {row['closed_at']:%Y-%m-%d %H:%M} UTC by {row['closed_by']}"


def _row(r: Any) -> dict[str, Any]:
    return {
        "period": r["period"],
        "start_date": r["start_date"].isoformat(),
        "end_date": r["end_date"].isoformat(),
        "closed_at": r["closed_at"].isoformat(),
        "closed_by": r["closed_by"],
    }
