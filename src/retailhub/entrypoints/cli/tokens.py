"""``retailhub tokens``: issue, list and revoke API tokens.

A token is printed once, when created: the database keeps only its SHA-256 hash
(``adapters/storage/tokens_repo.py``), so a lost token is revoked and replaced, not recovered.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.storage import tokens_repo
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json

tokens_app = typer.Typer(
    help="API tokens: create (shown once), list, revoke.", no_args_is_help=True
)


@tokens_app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(tokens_repo.ROLES)}.")],
    store: Annotated[
        list[str] | None,
        typer.Option("--store", help="A store/company it may see (repeat); none = every store."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Who or what uses it.")] = "api",
    as_json: JsonOpt = False,
) -> None:
    """Issue a token; it is printed once and only its hash is stored."""
    if role not in tokens_repo.ROLES:
        err.print(
            f"[red]--role {role!r} is not a role:[/red] use one of {', '.join(tokens_repo.ROLES)}"
        )
        raise typer.Exit(2)
    stores = tuple(dict.fromkeys(s.strip() for s in store or () if s.strip()))
    hub = open_hub()
    with hub.engine.begin() as conn:
        token = tokens_repo.create_token(conn, name, role, stores, hub.clock())
    if as_json:
        print_json({"token": token, "name": name, "role": role, "stores": list(stores)})
        return
    typer.echo(token)
    err.print(
        f"token for {name!r}, role {role}, "
        + (f"stores {', '.join(stores)}" if stores else "every store")
        + ": copy it now, it is not shown again"
    )


@tokens_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every token issued (never the token itself)."""
    hub = open_hub()
    with hub.engine.connect() as conn:
        rows = tokens_repo.list_tokens(conn)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "role", "stores", "created", "last used", "revoked")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["name"]),
            str(r["role"]),
            ", ".join(r["stores"] or ()) if isinstance(r["stores"], list) else "",
            str(r["created_at"] or ""),
            str(r["last_used_at"] or ""),
            str(r["revoked_at"] or ""),
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see tokens list).")],
) -> None:
    """Revoke a token: it stops working at once."""
    hub = open_hub()
    with hub.engine.begin() as conn:
        done = tokens_repo.revoke(conn, token_id, hub.clock())
    if not done:
        err.print(f"[red]no live token with id {token_id}[/red] (see 'retailhub tokens list')")
        raise typer.Exit(1)
    console.print(f"token {token_id} revoked")
