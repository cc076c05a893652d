"""The books exported to plain-text accounting tools are accepted by them and balance as ours.

beancount's own loader validates the beancount file; Debian's `hledger check` validates the
journal (skipped only where hledger is not installed; `.ci/run` installs it).
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data, realization

from retail_shop import Shop, open_shop
from retailhub.adapters.exports import ledger as exports
from retailhub.adapters.storage import queries
from retailhub.demo.run import load_retailer
from retailhub.demo.trading_day import TradingDay
from retailhub.domain.money import to_decimal


@pytest.fixture
def books(db_url: str) -> Shop:
    """A trading day of the demo (orders, returns, cancellations, exceptions) applied."""
    shop = open_shop(db_url)
    items = load_retailer(shop.hub, 3)
    for d in TradingDay(items, "test-shop-secret", 3).generate(60):
        shop.deliver_raw(d.headers, d.body)
    shop.process()
    yield shop
    shop.hub.engine.dispose()


def _ours(shop: Shop) -> dict[str, Decimal]:
    with shop.hub.uow() as uow:
        return {r["account"]: to_decimal(r["balance"], r["currency"])
                for r in queries.trial_balance(uow.conn)}


def _export(shop: Shop, kind: str, period: str | None = None) -> str:
    with shop.hub.uow() as uow:
        txns = list(exports.transactions(uow.conn, period))
    if kind == "beancount":
        return exports.beancount(txns, "USD")
    return exports.hledger(txns) if kind == "hledger" else exports.csv_text(txns)


def test_beancount_accepts_the_export_and_balances_match(books: Shop):
    entries, errors, _ = loader.load_string(_export(books, "beancount"))
    assert errors == []
    txns = [e for e in entries if isinstance(e, data.Transaction)]
    assert txns and all(e.meta.get("source") for e in txns)
    real = realization.realize(entries)
    theirs = {}
    for account in _ours(books):
        node = realization.get(real, account)
        theirs[account] = node.balance.get_currency_units("USD").number
    assert theirs == _ours(books)


@pytest.mark.skipif(shutil.which("hledger") is None, reason="Debian's hledger is not installed")
def test_hledger_checks_the_journal_and_balances_match(books: Shop, tmp_path: Path):
    journal = tmp_path / "books.journal"
    journal.write_text(_export(books, "hledger"))
    subprocess.run(["hledger", "-f", str(journal), "check"], check=True, capture_output=True)
    out = subprocess.run(["hledger", "-f", str(journal), "balance", "--flat", "--no-total",
                          "-O", "csv"], check=True, capture_output=True, text=True).stdout
    theirs = {row[0]: Decimal(row[1].split()[0]) for row in csv.reader(io.StringIO(out))
              if row and row[0] != "account"}
    assert theirs == {a: b for a, b in _ours(books).items() if b}


def test_csv_lines_balance_and_a_period_narrows_the_export(books: Shop):
    rows = list(csv.DictReader(io.StringIO(_export(books, "csv"))))
    debits = sum(Decimal(r["debit"] or 0) for r in rows)
    credits = sum(Decimal(r["credit"] or 0) for r in rows)
    assert debits == credits > 0
    assert _export(books, "csv", "2031-01").count("\n") == 1  # a header and nothing else
    with pytest.raises(ValueError, match="YYYY-MM"):
        exports.period_bounds("Nov 2026")
