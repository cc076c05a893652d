"""Closing a period locks it: later corrections post to the open period.

A shirt is sold online and shipped on 20 November 2026. Finance closes November. On
2 December Shopify delivers a refund the customer was given on 28 November: it is booked in
full, with the very lines it would have had, but dated 1 December (the first open day) and
saying it belongs to November; November's trial balance does not move by a cent, finance gets
a ``period_closed`` exception to look at, and delivering the refund again posts nothing.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import retail_shop
from retail_shop import EASTERN, LOC, SECRET, T0, Shop, after, open_shop
from retailhub.demo.retailer import config_text
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef, reverse
from retailhub.entrypoints.cli.main import app

NOTE = "(belongs to closed period 2026-11; posted in the open period)"
CLEARING = "Assets:Clearing:Shopify-Payments"
STATE_TAX = "Liabilities:Sales-Tax:NY-State-Tax"
CITY_TAX = "Liabilities:Sales-Tax:New-York-City-Tax"
DEC_2 = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)  # when the late refund reaches the hub


class Books:
    """The shop through its command line, as finance uses it."""

    def __init__(self, shop: Shop, db_url: str, tmp: Path, config: str | None = None) -> None:
        path = tmp / "retailhub.toml"
        path.write_text(config or config_text(SECRET))
        self.shop, self.cli = shop, CliRunner()
        self.base = ["--db", db_url, "--config", str(path)]

    def run(self, *args: str) -> Any:
        return self.cli.invoke(app, [*self.base, *args])

    def export(self, period: str) -> str:
        run = self.run("ledger", "export", "--format", "csv", "--period", period)
        assert run.exit_code == 0, run.output
        return str(run.stdout)

    def trial_balance(self, period: str) -> dict[str, int]:
        """Net per account of the lines dated in ``period``, from the CSV export."""
        sums: dict[str, int] = defaultdict(int)
        for row in csv.DictReader(io.StringIO(self.export(period))):
            sums[row["account"]] += cents(row["debit"]) - cents(row["credit"])
        return {account: n for account, n in sums.items() if n}

    def entries(self, source_kind: str) -> list[dict[str, Any]]:
        with self.shop.hub.uow() as uow:
            rows = uow.conn.exec_driver_sql(
                "select key, entry_date, memo from journal_entries where source_kind = "
                f"'{source_kind}' order by id"
            )
            return [{"key": k, "date": str(d)[:10], "memo": m} for k, d, m in rows]

    def count(self, table: str) -> int:
        with self.shop.hub.uow() as uow:
            return int(uow.conn.exec_driver_sql(f"select count(*) from {table}").scalar_one())

    def late(self) -> list[dict[str, Any]]:
        return [e for e in self.shop.exceptions() if e["type"] == "period_closed"]


def cents(amount: str) -> int:
    return int(Decimal(amount or "0") * 100)


@pytest.fixture
def shop(db_url: str) -> Iterator[Shop]:
    s = open_shop(db_url)
    yield s
    s.hub.engine.dispose()


def sell_a_shirt(shop: Shop) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Sold and shipped from the warehouse on 20 November; returns order, shipment, line id."""
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shop.deliver("orders/create", order)
    shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0 + timedelta(hours=2))
    shop.deliver("fulfillments/create", shipped)
    assert shop.process().failed == 0
    return order, shipped, shirt.line_id


def test_a_closed_period_receiving_a_late_refund(shop: Shop, db_url: str, tmp_path: Path) -> None:
    books = Books(shop, db_url, tmp_path)
    order, shipped, line_id = sell_a_shirt(shop)
    november = books.export("2026-11")
    # 59.95 taxed 4% (2.40) and 4.5% (2.70): 65.05 captured; cost 22.00.
    assert books.trial_balance("2026-11") == {
        **{k: v for k, v in shop.opening.items() if v},
        CLEARING: 6505,
        "Income:Sales": -5995,
        STATE_TAX: -240,
        CITY_TAX: -270,
        "Expenses:COGS": 2200,
        "Assets:Inventory": shop.opening["Assets:Inventory"] - 2200,
    }

    locked = books.run("close", "lock", "2026-11", "--force", "--by", "controller")
    assert locked.exit_code == 0, locked.output
    assert "2026-11 locked" in locked.stdout
    listed = json.loads(books.run("close", "list", "--json").stdout)
    assert [(p["period"], p["start_date"], p["end_date"]) for p in listed] == [
        ("2026-11", "2026-11-01", "2026-11-30")
    ]
    check = json.loads(books.run("close", "check", "2026-11", "--json").stdout)
    assert check["closed"] is True and check["closed_by"].startswith("controller")

    # The customer was refunded on 28 November; Shopify's webhook reaches us on 2 December.
    shop.hub.clock = lambda: DEC_2
    refund = shop.refund(
        after(order, [shipped]),
        [(line_id, 1, "return", LOC["WH"])],
        datetime(2026, 11, 28, 12, 0, tzinfo=EASTERN),
    )
    first = shop.deliver("refunds/create", refund, event_id="late-refund")
    assert shop.process().applied == 1

    late = books.entries("refund")
    assert late and {e["date"] for e in late} == {"2026-12-01"}
    assert all(e["memo"].endswith(NOTE) for e in late)
    refund_id = refund["id"]
    assert {e["key"] for e in late} == {  # keys unchanged: idempotency still holds
        f"refund:{refund_id}:refund",
        f"refund:{refund_id}:cogs-reversal",
    }
    # The refund, in full and with its own lines, lands in December.
    assert books.trial_balance("2026-12") == {
        "Income:Sales": 5995,
        STATE_TAX: 240,
        CITY_TAX: 270,
        CLEARING: -6505,
        "Assets:Inventory": 2200,
        "Expenses:COGS": -2200,
    }
    assert books.export("2026-11") == november  # not a cent of November moved
    assert shop.movement_balances() == {}  # sold and refunded: nothing left overall

    flagged = books.late()
    assert sorted(e["subject"] for e in flagged) == sorted(f"journal:{e['key']}" for e in late)
    assert {(e["owner"], e["status"], bool(e["blocking"])) for e in flagged} == {
        ("finance", "open", False)
    }
    revenue = next(e for e in flagged if e["subject"].endswith(":refund"))
    assert "2026-11-28" in revenue["reason"] and "2026-12-01" in revenue["reason"]
    assert revenue["amount"] == 6505  # its debits: what moved late

    # Shopify retries the same webhook, and later sends the refund under a new event id.
    entries, exceptions = books.count("journal_entries"), books.count("exceptions")
    again = shop.deliver("refunds/create", refund, event_id="late-refund")
    shop.deliver("refunds/create", refund, event_id="late-refund-resent")
    shop.process()
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert books.count("journal_entries") == entries
    assert books.count("exceptions") == exceptions
    assert books.export("2026-11") == november


def test_a_correction_of_a_closed_period_entry_is_a_reversal_dated_in_the_open_period(
    shop: Shop, db_url: str, tmp_path: Path
) -> None:
    """An accrual booked on 25 November is found wrong after November closed: its reversal,
    dated the 25th by whoever prepared it, is posted on 1 December. Posting either again (a
    crashed batch retried) adds nothing: not an entry, not an exception."""
    books = Books(shop, db_url, tmp_path)
    accrual = JournalEntry(
        date(2026, 11, 25),
        "Freight accrual, carrier invoice 7781",
        SourceRef("adjustment", "freight-7781"),
        (
            JournalLine("Expenses:Freight", 4250, "USD"),
            JournalLine("Liabilities:Accrued-Freight", -4250, "USD"),
        ),
        "accrual",
    )
    with shop.hub.uow() as uow:
        uow.ledger.post(accrual, None, T0)
        uow.commit()
    november = books.export("2026-11")
    assert books.run("close", "lock", "2026-11", "--force").exit_code == 0

    correction = reverse(accrual, date(2026, 11, 25), "invoice was for December")
    for _ in range(2):
        with shop.hub.uow() as uow:
            uow.ledger.post(correction, None, DEC_2)
            uow.ledger.post(accrual, None, DEC_2)  # already in the ledger: skipped, not flagged
            uow.commit()

    (posted,) = [e for e in books.entries("adjustment") if e["key"] == correction.key]
    assert posted["date"] == "2026-12-01"
    assert posted["memo"] == f"{correction.memo} {NOTE}"
    assert books.trial_balance("2026-12") == {
        "Expenses:Freight": -4250,
        "Liabilities:Accrued-Freight": 4250,
    }
    assert books.export("2026-11") == november
    assert [e["subject"] for e in books.late()] == [f"journal:{correction.key}"]


def test_a_daily_summary_channel_held_for_a_closed_day(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store sales are posted as one summary per store and day. November is forced closed
    while 20 November's takings are still held (the day's summary not yet posted): December's
    close check says so, and the summary, when posted, lands on 1 December, as does the
    supplement for a sale from the 20th that the register uploads on 2 December."""
    text = config_text(SECRET).replace(
        "[channels.pos]\n", '[channels.pos]\nposting = "daily_summary"\n'
    )
    monkeypatch.setattr(retail_shop, "config_text", lambda secret: text)
    shop = open_shop(db_url)
    books = Books(shop, db_url, tmp_path, text)

    def store_sale(sku: str) -> None:
        order = shop.order([shop.line(sku)], source_name="pos", location_id=LOC["STORE-1"])
        shop.deliver("orders/create", order)
        assert shop.process().failed == 0

    shop.hub.clock = lambda: T0 + timedelta(hours=8)  # the evening of the 20th: day not over
    store_sale("TEE-L")
    assert books.entries("summary") == []  # held
    november = books.export("2026-11")

    refused = books.run("close", "lock", "2026-11")
    assert refused.exit_code == 1 and "entries held" in refused.stderr
    forced = books.run("close", "lock", "2026-11", "--force", "--by", "controller")
    assert forced.exit_code == 0 and "entries held" in forced.stdout
    assert json.loads(books.run("close", "list", "--json").stdout)[0]["closed_by"] == (
        "controller (forced)"
    )
    # Held entries of a closed day would post into December: December is not ready for them.
    december = json.loads(books.run("close", "check", "2026-12", "--json").stdout)
    assert december["every_day_posted"] is False
    assert "2026-11-20" in december["held_entries"]

    shop.hub.clock = lambda: DEC_2
    shop.process()  # the worker posts every day that has ended
    store_sale("SOCKS")  # rung up on the 20th (the order says so), uploaded on 2 December

    summaries = books.entries("summary")
    assert summaries == [
        {
            "key": "summary:pos:all:2026-11-20:1",
            "date": "2026-12-01",
            "memo": f"Daily summary pos all 2026-11-20 {NOTE}",
        },
        {
            "key": "summary:pos:all:2026-11-20:2",
            "date": "2026-12-01",
            "memo": f"Daily summary pos all 2026-11-20 (supplement 2) {NOTE}",
        },
    ]
    assert [e["subject"] for e in books.late()] == [f"journal:{e['key']}" for e in summaries]
    assert books.export("2026-11") == november
    # tee 24.95 + 1.00 + 1.12 = 27.07; socks 9.99 + 0.40 + 0.45 = 10.84 (4% and 4.5% tax)
    assert [e["amount"] for e in books.late()] == [2707, 1084]
    # Paid at the till (revenue follows at fulfilment): the two captures, now in December.
    assert books.trial_balance("2026-12") == {
        CLEARING: 2707 + 1084,
        "Liabilities:Customer-Deposits": -(2707 + 1084),
    }


def test_a_month_is_locked_once_and_only_when_ready(
    shop: Shop, db_url: str, tmp_path: Path
) -> None:
    """October has an open exception (an unknown SKU was sold): the lock is refused, and says
    why. Once the exception is dealt with October locks without --force, and only once; a
    month that is not over yet, or that is not a month, is refused too."""
    books = Books(shop, db_url, tmp_path)
    shop.deliver("orders/create", shop.order([shop.line("HAT-UNKNOWN")]))
    shop.process()
    (unknown,) = shop.exceptions()

    refused = books.run("close", "lock", "2026-10", "--by", "controller")
    assert refused.exit_code == 1
    assert "not ready" in refused.stderr and "open exceptions: ecommerce 1" in refused.stderr
    assert json.loads(books.run("close", "list", "--json").stdout) == []

    ignored = books.run("exceptions", "ignore", str(unknown["id"]), "--reason", "test order")
    assert ignored.exit_code == 0, ignored.output
    locked = books.run("close", "lock", "2026-10", "--by", "controller")
    assert locked.exit_code == 0, locked.output
    assert "forced" not in locked.stdout
    (october,) = json.loads(books.run("close", "list", "--json").stdout)
    assert (october["period"], october["closed_by"]) == ("2026-10", "controller")

    again = books.run("close", "lock", "2026-10", "--force")
    assert again.exit_code == 1 and "closed already" in again.stderr
    assert len(json.loads(books.run("close", "list", "--json").stdout)) == 1
    check = books.run("close", "check", "2026-10")
    assert "closed: yes" in check.stdout and "controller" in check.stdout

    not_over = books.run("close", "lock", "2099-01")
    assert not_over.exit_code == 1 and "the month is not over" in not_over.stderr
    assert books.run("close", "lock", "2026-13").exit_code == 2
    assert books.run("close", "lock", "2026").exit_code == 2  # a month, not a year


def test_the_controller_reopens_a_month(shop: Shop, db_url: str, tmp_path: Path) -> None:
    """Reopening needs a reason, is printed and logged, and dates go back to normal."""
    books = Books(shop, db_url, tmp_path)
    assert books.run("close", "lock", "2026-11", "--force").exit_code == 0

    assert books.run("close", "reopen", "2026-11").exit_code == 2  # no --reason
    assert books.run("close", "reopen", "2026-11", "--reason", " ").exit_code == 2
    assert books.run("close", "reopen", "2026-10", "--reason", "typo").exit_code == 1

    reopened = books.run(
        "close", "reopen", "2026-11", "--reason", "auditor's adjustment", "--by", "controller"
    )
    assert reopened.exit_code == 0, reopened.output
    assert "2026-11 reopened" in reopened.stdout and "auditor's adjustment" in reopened.stdout
    (logged,) = [
        json.loads(line) for line in reopened.stderr.splitlines() if '"period.reopened"' in line
    ]
    assert (logged["period"], logged["by"], logged["reason"]) == (
        "2026-11",
        "controller",
        "auditor's adjustment",
    )
    assert json.loads(books.run("close", "list", "--json").stdout) == []
    assert json.loads(books.run("close", "check", "2026-11", "--json").stdout)["closed"] is False
    # The audit trail outlives the lock: both events, who, forced or not, and why.
    history = json.loads(books.run("close", "history", "2026-11", "--json").stdout)
    assert [(h["action"], h["forced"]) for h in history] == [("locked", True), ("reopened", False)]
    assert "not over" in history[0]["reason"]
    assert (history[1]["by"], history[1]["reason"]) == ("controller", "auditor's adjustment")

    sell_a_shirt(shop)  # 20 November: open again, so dated where it happened
    assert {e["date"] for e in books.entries("order")} == {"2026-11-20"}
    assert books.late() == []


# PostgreSQL only: SQLite writers take the database lock up front (BEGIN IMMEDIATE) and run
# one at a time anyway.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_closing_waits_for_postings_in_flight(db_url: str, shop: Shop) -> None:
    """PostgreSQL: a batch that has read the closed periods holds the close until it commits,
    so no entry dated in the month can land after the month is closed."""
    from sqlalchemy.exc import OperationalError

    from retailhub.adapters.storage import periods_repo

    engine = shop.hub.engine
    with engine.connect() as posting, engine.connect() as closing:
        with posting.begin():
            assert not periods_repo.for_posting(posting)  # a batch flushing its entries
            with closing.begin():
                closing.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
                with pytest.raises(OperationalError, match="lock timeout"):
                    periods_repo.exclusive(closing)
        with closing.begin():  # the batch committed: the close goes ahead
            periods_repo.exclusive(closing)
