"""``retailhub pos import``: a register's batch file, checked, admitted in event time, applied."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retailhub.adapters.files.pos_feed import PosFeedError, read_pos_feed
from retailhub.adapters.storage.pos_state import SqlPosFeedState
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.services.pos_import import import_pos_batch

pos_app = typer.Typer(
    help="Store POS batch feed (registers that upload late).", no_args_is_help=True
)


@pos_app.command("import")
def pos_import(
    file: Annotated[Path, typer.Argument(help="A batch file: JSON lines (.jsonl) or CSV.")],
    file_format: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or csv (default: from the name and content)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import a POS batch (docs/pos-feed.md) and apply it.

    Every record is checked first; a bad record refuses the whole file with its line. Gaps,
    repeats and conflicts in a register's sequence are queued as sequence_gap exceptions;
    records are applied in the order they happened, dated by their original timestamps.
    """
    if not file.exists():
        err.print(f"[red]{file}: not found[/red]")
        raise typer.Exit(2)
    hub = open_hub()
    try:
        records = read_pos_feed(file, file_format)
    except PosFeedError as exc:
        if as_json:
            print_json({"admitted": 0, "error": str(exc), "line": exc.line})
        else:
            err.print(f"[red]{exc}[/red]")
            err.print("nothing imported")
        raise typer.Exit(1) from exc
    with hub.uow() as uow:
        outcome = import_pos_batch(
            uow, hub.sources["pos"], SqlPosFeedState(uow.conn), records, hub.clock(), file.name
        )
        uow.commit()
    stats = hub.processor().run_until_idle()
    result = {
        "file": str(file),
        "records": len(records),
        "admitted": outcome.admitted,
        "duplicates": outcome.duplicates,
        "sequence_issues": [
            {"store": i.store, "register": i.register, "kind": i.kind, "message": i.message}
            for i in outcome.issues
        ],
        "applied": stats.applied,
        "waiting": stats.waiting,
        "failed": stats.failed,
        "problems": stats.by_problem,
    }
    if as_json:
        print_json(result)
        return
    console.print(
        f"{file.name}: {len(records)} records, {outcome.admitted} new, "
        f"{outcome.duplicates} already imported; applied {stats.applied}, "
        f"waiting {stats.waiting}, failed {stats.failed}"
    )
    for issue in outcome.issues:
        console.print(f"[yellow]{issue.kind}[/yellow] {issue.message}")
