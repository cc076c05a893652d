"""Multi-currency books exported: beancount and hledger accept entries that balance in each
currency separately (EUR on clearing and conversion, USD everywhere else) and their balances,
per account and currency, equal ours.

The books are the multi-currency scenario's: two euro orders booked in dollars at the day's
rate and paid out in dollars by Stripe, realising the exchange difference.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import realization
from test_multi_currency import NOV_20, euro_order, fx_shop

from retail_shop import STATE, Shop
from retailhub.adapters.exports import ledger as exports
from retailhub.adapters.storage import queries
from retailhub.domain.money import to_decimal


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Shop:
    shop, _ = fx_shop(db_url, tmp_path, "2026-11-20,EUR,1.0843\n2026-11-23,EUR,1.0950\n")
    a = euro_order(shop, [shop.line("SHIRT-M", taxes=(STATE,))], NOV_20)
    b = euro_order(shop, [shop.line("TEE-L", taxes=())], NOV_20 + timedelta(days=3))
    for order in (a, b):
        shop.deliver("orders/create", order)
    assert shop.process().failed == 0
    return shop


def _ours(shop: Shop) -> dict[tuple[str, str], Decimal]:
    with shop.hub.uow() as uow:
        rows = queries.trial_balance(uow.conn)
    return {
        (r["account"], r["currency"]): to_decimal(r["balance"], r["currency"])
        for r in rows
        if r["balance"]
    }


def _export(shop: Shop, kind: str) -> str:
    with shop.hub.uow() as uow:
        txns = list(exports.transactions(uow.conn))
    return exports.beancount(txns, "USD") if kind == "beancount" else exports.hledger(txns)


def test_the_books_hold_two_currencies(books: Shop) -> None:
    currencies = {currency for _, currency in _ours(books)}
    assert currencies == {"EUR", "USD"}


def test_beancount_accepts_entries_balanced_per_currency(books: Shop) -> None:
    entries, errors, _ = loader.load_string(_export(books, "beancount"))
    assert errors == []
    real = realization.realize(entries)
    theirs = {}
    for account, currency in _ours(books):
        node = realization.get(real, account)
        theirs[(account, currency)] = node.balance.get_currency_units(currency).number
    assert theirs == _ours(books)


@pytest.mark.skipif(shutil.which("hledger") is None, reason="Debian's hledger is not installed")
def test_hledger_checks_and_balances_per_currency(books: Shop, tmp_path: Path) -> None:
    journal = tmp_path / "books.journal"
    journal.write_text(_export(books, "hledger"))
    subprocess.run(["hledger", "-f", str(journal), "check"], check=True, capture_output=True)
    out = subprocess.run(
        ["hledger", "-f", str(journal), "balance", "--flat", "--no-total", "-O", "csv"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    theirs: dict[tuple[str, str], Decimal] = {}
    for row in csv.reader(io.StringIO(out)):
        if not row or row[0] == "account":
            continue
        for amount in row[1].split(", "):  # "87.30 EUR, -94.93 USD" on one account
            number, currency = amount.split()
            theirs[(row[0], currency)] = Decimal(number)
    assert theirs == _ours(books)
