"""The exception queue: list, show, assign, retry, replay, map-alias, write-off, ignore."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.storage import queries
from retailhub.bootstrap import Hub
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.services import exception_actions

exceptions_app = typer.Typer(help="The exception queue.", no_args_is_help=True)


@exceptions_app.command("list")
def exceptions_list(
    status: Annotated[str, typer.Option(help="open, retrying, resolved, ignored or all.")] = "open",
    exception_type: Annotated[
        str | None, typer.Option("--type", help="Only this type (unknown_sku, invalid_payload, …).")
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Only this owner team (finance, store_ops, ecommerce, it).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The exception queue, most urgent first."""
    hub = open_hub()
    with hub.uow() as uow:
        rows = queries.list_exceptions(
            uow.conn, None if status == "all" else status, type_=exception_type, owner=owner
        )
    if as_json:
        print_json(rows)
        return
    table = Table(
        "id", "type", "owner", "prio", "status", "assignee", "SLA due", "reason", title="Exceptions"
    )
    for r in rows:
        due = (r["sla_due_at"] or "")[:16].replace("T", " ")
        table.add_row(
            str(r["id"]),
            r["type"],
            r["owner"],
            str(r["priority"]),
            r["status"],
            r["assignee"] or "",
            due,
            r["reason"],
        )
    console.print(table)


@exceptions_app.command("show")
def exceptions_show(
    exception_id: Annotated[int, typer.Argument(help="The exception.")],
    as_json: JsonOpt = False,
) -> None:
    """One exception: its reason, the delivery behind it, and who did what when."""
    hub = open_hub()
    with hub.uow() as uow:
        detail = queries.exception_detail(uow.conn, exception_id)
    if detail is None:
        err.print(f"[red]no exception {exception_id}[/red]")
        raise typer.Exit(1)
    if as_json:
        print_json(detail)
        return
    console.print(
        f"#{detail['id']} {detail['type']} ({detail['status']}, owner "
        f"{detail['owner']}, priority {detail['priority']}): {detail['reason']}"
    )
    if detail.get("delivery"):
        d = detail["delivery"]
        console.print(
            f"delivery: {d['source']} {d['topic']} {d['event_id']} ({d['status']}, "
            f"{d['attempts']} attempt(s))"
        )
    for a in detail["audit"]:
        console.print(f"  {a['at']}  {a['actor']}  {a['action']}  {a['result'] or ''}")


@exceptions_app.command("ignore")
def exceptions_ignore(
    exception_id: Annotated[int, typer.Argument(help="The exception to close.")],
    reason: Annotated[str, typer.Option(help="Why it needs no fix (kept on the audit trail).")],
    as_json: JsonOpt = False,
) -> None:
    """Close an exception without applying its delivery, with a reason."""
    hub = open_hub()
    with hub.uow() as uow:
        outcome = exception_actions.ignore(uow, exception_id, reason, hub.clock())
        uow.commit()
    result = {"id": exception_id, "action": outcome.status, "detail": outcome.detail}
    if as_json:
        print_json(result)
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
    hub = open_hub()
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
        print_json({"retried": result, "applied": stats.applied, "failed": stats.failed})
        return
    for r in result:
        console.print(f"#{r['id']}: {r['action']} ({r['detail']}) -> now {r['status']}")
    if any(o.status == "not-found" for o in outcomes):
        raise typer.Exit(1)


def _report(
    outcomes: list[exception_actions.ActionOutcome], hub_stats: object | None, as_json: bool
) -> None:
    rows = [{"id": o.exception_id, "action": o.status, "detail": o.detail} for o in outcomes]
    if as_json:
        print_json({"results": rows, "processing": hub_stats})
        return
    for r in rows:
        console.print(f"#{r['id']}: {r['action']} ({r['detail']})")


def _run_and_report(
    hub: Hub, outcomes: list[exception_actions.ActionOutcome], as_json: bool
) -> None:
    """Process the requeued deliveries, then report each exception's action and final status."""
    stats = hub.processor().run_until_idle()
    with hub.uow() as uow:
        final = {
            o.exception_id: (uow.exceptions.get(o.exception_id) or {}).get("status")
            for o in outcomes
        }
    outcomes = [
        exception_actions.ActionOutcome(
            o.exception_id, o.status, f"{o.detail}; now {final[o.exception_id]}"
        )
        for o in outcomes
    ]
    _report(outcomes, {"applied": stats.applied, "failed": stats.failed}, as_json)


@exceptions_app.command("assign")
def exceptions_assign(
    exception_id: Annotated[int, typer.Argument(help="The exception.")],
    to: Annotated[str, typer.Option("--to", help="Who works on it (empty to unassign).")],
    as_json: JsonOpt = False,
) -> None:
    """Name who is working on an exception."""
    hub = open_hub()
    with hub.uow() as uow:
        outcome = exception_actions.assign(uow, exception_id, to, hub.clock())
        uow.commit()
    _report([outcome], None, as_json)
    if outcome.status != "assigned":
        raise typer.Exit(1)


@exceptions_app.command("replay")
def exceptions_replay(
    exception_id: Annotated[int | None, typer.Argument(help="An exception on the subject.")] = None,
    subject: Annotated[
        str | None, typer.Option(help="Every open exception on this record, e.g. sku:ABC-1.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """After a fix, replay every delivery that failed on a subject, in the order they came."""
    if (exception_id is None) == (subject is None):
        err.print("give an exception ID or --subject")
        raise typer.Exit(2)
    hub = open_hub()
    with hub.uow() as uow:
        outcomes = exception_actions.replay(
            uow, hub.clock(), subject=subject, exception_id=exception_id
        )
        uow.commit()
    _run_and_report(hub, outcomes, as_json)
    if any(o.status == "not-found" for o in outcomes):
        raise typer.Exit(1)


@exceptions_app.command("map-alias")
def exceptions_map_alias(
    exception_id: Annotated[int, typer.Argument(help="An unknown_sku exception.")],
    sku: Annotated[str, typer.Option(help="The existing item the channel's line is.")],
    as_json: JsonOpt = False,
) -> None:
    """Map the channel's unknown item to an existing SKU, then replay what waited on it."""
    hub = open_hub()
    with hub.uow() as uow:
        outcomes = exception_actions.map_alias(uow, exception_id, sku, hub.clock())
        uow.commit()
    if outcomes[0].status != "mapped":
        _report(outcomes, None, as_json)
        raise typer.Exit(1)
    _run_and_report(hub, outcomes, as_json)


@exceptions_app.command("write-off")
def exceptions_write_off(
    exception_id: Annotated[int, typer.Argument(help="A settlement or drawer exception.")],
    reason: Annotated[str, typer.Option(help="Why it is written off (kept on the audit trail).")],
    as_json: JsonOpt = False,
) -> None:
    """Post the difference to the gateway's adjustments account and resolve the exception."""
    hub = open_hub()
    with hub.uow() as uow:
        outcome = exception_actions.write_off(
            uow, exception_id, reason, hub.clock(), hub.settings.currency
        )
        uow.commit()
    _report([outcome], None, as_json)
    if outcome.status != "written-off":
        raise typer.Exit(1)
