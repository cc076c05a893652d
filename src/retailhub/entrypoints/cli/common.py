"""What every CLI command shares: the global options, output helpers, and the hub."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from retailhub import config as config_module
from retailhub.bootstrap import DEFAULT_DB_URL, Hub, bootstrap

console = Console()
err = Console(stderr=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class State:
    db: str = DEFAULT_DB_URL
    config: Path = Path(config_module.DEFAULT_CONFIG)


state = State()


def open_hub() -> Hub:
    try:
        settings = config_module.load(state.config)
    except config_module.ConfigError as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    return bootstrap(settings, state.db)


def print_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def refuse_rows(file: Path, errors: Sequence[object], as_json: bool) -> NoReturn:
    """A file with bad rows imports nothing: say which rows, then exit 1."""
    if as_json:
        print_json({"imported": 0, "errors": [str(e) for e in errors]})
    else:
        for e in errors:
            err.print(f"[red]{file}:{e}[/red]")
        err.print(f"{len(errors)} bad row(s): nothing imported")
    raise typer.Exit(1)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
