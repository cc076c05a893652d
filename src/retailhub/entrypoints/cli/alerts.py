"""``retailhub alerts``: announce exceptions that breached their SLA to their owner team.

The worker loop of ``retailhub serve`` sends due alerts by itself; this command does one run by
hand or from cron (exit status 1 when a POST failed, so cron mail shows it).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.storage import alerts_repo
from retailhub.entrypoints.alerts import redact, send_due_alerts
from retailhub.entrypoints.cli.common import JsonOpt, console, open_hub, print_json

alerts_app = typer.Typer(help="SLA breach alerts to owner teams' webhooks.", no_args_is_help=True)


@alerts_app.command("send")
def alerts_send(as_json: JsonOpt = False) -> None:
    """POST an alert for every exception past its SLA that was not announced yet."""
    hub = open_hub()
    results = send_due_alerts(hub)
    if as_json:
        print_json([r.as_dict() for r in results])
    elif not results:
        console.print("no exception is past its SLA unannounced")
    else:
        table = Table("exception", "team", "outcome", "status", "answer", title="SLA alerts")
        for r in results:
            table.add_row(
                str(r.exception_id),
                r.team,
                r.outcome,
                "" if r.status is None else str(r.status),
                r.answer if r.outcome != "no-webhook" else "no [alerts.webhooks] URL for the team",
            )
        console.print(table)
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)


@alerts_app.command("history")
def alerts_history(
    exception_id: Annotated[
        int | None, typer.Option("--exception", help="Only the alerts about this exception.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every alert POST made, oldest first, with the receiver's answer."""
    hub = open_hub()
    with hub.engine.connect() as conn:
        rows = [
            r | {"url": redact(r["url"]), "sent_at": r["sent_at"].isoformat()}
            for r in alerts_repo.attempts(conn, exception_id)
        ]
    if as_json:
        print_json(rows)
        return
    table = Table("exception", "team", "sent at", "status", "answer", title="SLA alert POSTs")
    for r in rows:
        status = "no answer" if r["status"] is None else str(r["status"])
        table.add_row(str(r["exception_id"]), r["team"], r["sent_at"], status, r["answer"] or "")
    console.print(table)
