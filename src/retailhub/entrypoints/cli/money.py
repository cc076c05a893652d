"""``retailhub settlements …``, ``retailhub bank …`` and ``retailhub reconcile``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from retailhub.adapters.files.settlements import (
    FORMATS,
    SettlementFileError,
    count_lines,
    read_settlements,
)
from retailhub.domain.money import format_minor
from retailhub.entrypoints.cli.common import (
    JsonOpt,
    console,
    err,
    open_hub,
    print_json,
    progress_bar,
)
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
            uow.commit()
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
