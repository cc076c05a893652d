"""``retailhub close check PERIOD``: is the month ready to close?"""

from __future__ import annotations

from typing import Annotated

import typer

from retailhub.adapters.exports.ledger import period_bounds
from retailhub.adapters.storage.close_readiness import check_close
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json

close_app = typer.Typer(help="Period close.", no_args_is_help=True)


@close_app.command("check")
def close_check(
    period: Annotated[str, typer.Argument(help="YYYY-MM (or YYYY, YYYY-MM-DD).")],
    as_json: JsonOpt = False,
) -> None:
    """Close readiness: every day posted, nothing unposted, every settlement reconciled (run
    `retailhub reconcile` first), open exceptions by owner. Exit status 1 when not ready."""
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
