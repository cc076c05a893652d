"""The exactly-once rule of ERP posting, independent of any vendor.

A target double that behaves like the vendors do (it keeps what it accepted per idempotency
key and answers a repeated key with the document it already has) stands in for the network;
the vendor modules each have their own tests against faithful fake servers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retail_shop import SECRET, T0, Shop, open_shop
from retailhub.adapters.storage.erp_repo import SqlErpPostingRepository
from retailhub.demo.retailer import config_text
from retailhub.entrypoints.cli.main import app
from retailhub.services.erp_posting import (
    OutboundPosting,
    Posted,
    PostingRejected,
    TargetUnavailable,
    idempotency_key,
    push_entries,
)


class LedgerKeepingTarget:
    name = "quickbooks"

    def __init__(self) -> None:
        self.documents: dict[str, Posted] = {}
        self.calls = 0
        self.crash_after_accepting = False
        self.refuse: set[str] = set()
        self.down = False

    def post(self, posting: OutboundPosting) -> Posted:
        self.calls += 1
        if self.down:
            raise TargetUnavailable("503 from the target")
        if posting.entry.rule in self.refuse:
            raise PostingRejected("Account is inactive", "JournalEntry", "6000")
        posted = self.documents.setdefault(
            posting.idempotency_key, Posted("JournalEntry", str(len(self.documents) + 1))
        )
        if self.crash_after_accepting:
            raise SystemExit("killed between the target's answer and our record")
        return posted


def _sold_and_shipped(db_url: str) -> Shop:
    shop = open_shop(db_url)
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0))
    shop.process()
    return shop


def _entries(shop: Shop) -> int:
    with shop.hub.uow() as uow:
        counts = SqlErpPostingRepository(uow.conn).status("quickbooks")
    return sum(counts["quickbooks"].values())


def _push(shop: Shop, target: Any, **kw: Any) -> Any:
    hub = shop.hub
    return push_entries(hub.uow, target, "USD", hub.clock, **kw)


def test_every_entry_is_posted_once_and_a_rerun_sends_nothing(db_url: str) -> None:
    shop = _sold_and_shipped(db_url)
    target = LedgerKeepingTarget()
    first = _push(shop, target)
    total = _entries(shop)
    assert first.posted == total > 0 and first.rejected == 0
    calls = target.calls
    again = _push(shop, target)
    assert again.posted == 0 and target.calls == calls


def test_a_crash_between_acceptance_and_our_record_does_not_duplicate(db_url: str) -> None:
    shop = _sold_and_shipped(db_url)
    target = LedgerKeepingTarget()
    target.crash_after_accepting = True
    with pytest.raises(SystemExit):
        _push(shop, target)
    assert len(target.documents) == 1  # the target has it; we have no record of it
    target.crash_after_accepting = False
    summary = _push(shop, target)
    # The retry carried the same key, so the target answered with the document it had.
    assert summary.posted == _entries(shop) == len(target.documents)
    with shop.hub.uow() as uow:
        rows = SqlErpPostingRepository(uow.conn).posted("quickbooks")
    assert all(r["idempotency_key"] == idempotency_key("quickbooks", r["entry_key"]) for r in rows)
    assert sorted(r["target_id"] for r in rows) == sorted(
        p.target_id for p in target.documents.values()
    )


def test_a_refusal_is_a_typed_exception_with_the_vendors_message(db_url: str) -> None:
    shop = _sold_and_shipped(db_url)
    target = LedgerKeepingTarget()
    target.refuse = {"cogs"}
    summary = _push(shop, target)
    assert summary.rejected == 1
    (problem,) = [e for e in shop.exceptions() if e["type"] == "posting_rejected"]
    assert problem["owner"] == "finance" and "Account is inactive" in problem["reason"]
    # Not sent again on a plain rerun; sent again (same key) when asked after a fix.
    calls = target.calls
    assert _push(shop, target).posted == 0 and target.calls == calls
    target.refuse = set()
    assert _push(shop, target, retry_rejected=True).posted == 1


def test_an_unreachable_target_leaves_entries_pending(db_url: str) -> None:
    shop = _sold_and_shipped(db_url)
    target = LedgerKeepingTarget()
    target.down = True
    summary = _push(shop, target)
    assert summary.posted == 0 and summary.unavailable == _entries(shop) > 0
    assert any(e["type"] == "connector_error" for e in shop.exceptions())
    target.down = False
    assert _push(shop, target).posted == summary.unavailable



def test_erp_check_lists_the_accounts_a_target_cannot_take(db_url: str, tmp_path: Path) -> None:
    _sold_and_shipped(db_url)
    config = tmp_path / "retailhub.toml"
    config.write_text(
        config_text(SECRET)
        + '\n[erp.quickbooks]\nrealm_id = "1"\n[erp.quickbooks.accounts]\n'
        + '"Income" = "79"\n"Liabilities:Sales-Tax" = "2200"\n'
    )
    run = CliRunner().invoke(
        app, ["--db", db_url, "--config", str(config), "erp", "check", "quickbooks", "--json"]
    )
    assert run.exit_code == 1, run.output
    report = json.loads(run.stdout)
    assert report["mapped"]["Income:Sales"] == "79"  # by its parent
    assert report["mapped"]["Liabilities:Sales-Tax:NY-State-Tax"] == "2200"
    assert "Expenses:COGS" in report["unmapped"] and "Assets:Inventory" in report["unmapped"]


def test_doctor_names_unmapped_accounts_and_a_missing_rates_file(
    db_url: str, tmp_path: Path
) -> None:
    _sold_and_shipped(db_url)
    config = tmp_path / "retailhub.toml"
    config.write_text(
        config_text(SECRET)
        + f'\n[fx]\nrates_file = "{tmp_path / "nowhere.csv"}"\n'
        + '\n[erp.xero]\n[erp.xero.accounts]\n"Income" = "200"\n'
    )
    run = CliRunner().invoke(app, ["--db", db_url, "--config", str(config), "doctor", "--json"])
    assert run.exit_code == 1, run.output
    findings = {f["check"]: f["message"] for f in json.loads(run.stdout)["findings"]}
    assert "xero" in findings["erp"] and "Expenses:COGS" in findings["erp"]
    assert "nowhere.csv" in findings["fx"]
