"""``retailhub erp push|status``: the hub's journals posted to an accounting target, once."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from retailhub.adapters.connectors.erp import MODULES, build_target
from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.storage.erp_repo import (
    SqlErpPostingRepository,
    SqlTokenStore,
    ledger_accounts,
)
from retailhub.bootstrap import Hub
from retailhub.entrypoints.cli.common import JsonOpt, console, err, open_hub, print_json
from retailhub.services.erp_posting import AccountingTarget, push_entries

erp_app = typer.Typer(
    help="Post journals to QuickBooks Online, Xero, NetSuite or Business Central, exactly once.",
    no_args_is_help=True,
)
TargetArg = Annotated[
    str, typer.Argument(help=f"The accounting target (its erp.TARGET table): {', '.join(MODULES)}.")
]


def target_for(hub: Hub, name: str) -> AccountingTarget:
    options = hub.settings.erp.get(name)
    if options is None:
        err.print(f"[red]no [erp.{name}] section in the configuration[/red]")
        raise typer.Exit(2)
    try:
        return build_target(name, options, SqlTokenStore(hub.engine, name), hub.clock)
    except (ValueError, KeyError) as exc:
        err.print(f"[red][erp.{name}]: {exc}[/red]")
        raise typer.Exit(2) from None


@erp_app.command("push")
def erp_push(
    target: TargetArg,
    limit: Annotated[int | None, typer.Option(help="At most this many entries.")] = None,
    retry_rejected: Annotated[
        bool, typer.Option("--retry-rejected", help="Send refused entries again (after a fix).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Post every journal entry the target has not answered for yet. Each carries an
    idempotency key derived from (target, entry), so re-running after a crash never creates
    a second document. Refusals become `posting_rejected` exceptions. Exit 1 when any entry
    was refused or the target could not be reached."""
    hub = open_hub()
    summary = push_entries(
        hub.uow, target_for(hub, target), hub.settings.currency, hub.clock, limit, retry_rejected
    )
    if as_json:
        print_json(summary.as_dict())
    else:
        docs = ", ".join(f"{n} {d}" for d, n in sorted(summary.documents.items())) or "none"
        console.print(
            f"{target}: posted {summary.posted} ({docs}), rejected {summary.rejected}, "
            f"not reached {summary.unavailable}"
        )
    if summary.rejected or summary.unavailable:
        raise typer.Exit(1)


@erp_app.command("status")
def erp_status(
    target: Annotated[str | None, typer.Argument(help="One target (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Per target: entries posted, refused, and still pending."""
    hub = open_hub()
    with hub.engine.connect() as conn:
        counts = SqlErpPostingRepository(conn).status(*hub.settings.erp, only=target)
    if as_json:
        print_json(counts)
        return
    table = Table("target", "posted", "rejected", "pending")
    for name, c in sorted(counts.items()):
        table.add_row(name, str(c["posted"]), str(c["rejected"]), str(c["pending"]))
    console.print(table)


@erp_app.command("check")
def erp_check(target: TargetArg, as_json: JsonOpt = False) -> None:
    """Before the first push: every account the ledger uses must map to one of the target's
    (the erp.TARGET.accounts table of retailhub.toml; the longest matching prefix wins).
    Lists the ones that do not; exit 1."""
    hub = open_hub()
    options = hub.settings.erp.get(target)
    if options is None:
        err.print(f"[red]no [erp.{target}] section in the configuration[/red]")
        raise typer.Exit(2)
    with hub.engine.connect() as conn:
        used = ledger_accounts(conn)
    mapped, unmapped = AccountMap(target, options.get("accounts")).mapped(used)
    if as_json:
        print_json({"target": target, "mapped": mapped, "unmapped": unmapped})
    else:
        table = Table("hub account", f"{target} account")
        for account in used:
            table.add_row(account, mapped.get(account, "[red]unmapped[/red]"))
        console.print(table)
    if unmapped:
        raise typer.Exit(1)
