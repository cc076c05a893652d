"""The built-in ledger's financial reports agree with the journal they are computed from.

The books are real: Shopify deliveries and a store register's batch go through intake and the
processor (``tests/retail_shop.py``). Two web orders ship in November 2026, a 50.00 gift card
is sold online and 30.00 of it redeemed in Store 1 with a 10% breakage rate, and in December a
shirt comes back. Each report is checked against an oracle computed in Python from the
exported transactions (``adapters/exports/ledger.transactions``), independently of the SQL
aggregation under test, and against hand-computed gift-card figures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retail_shop import LOC, T0, Shop, after, open_shop
from retailhub.adapters.exports import ledger as exports
from retailhub.adapters.files.pos_feed import read_pos_feed
from retailhub.adapters.storage import reports
from retailhub.adapters.storage.pos_state import SqlPosFeedState
from retailhub.demo.shopify_payloads import LineSpec
from retailhub.entrypoints.cli import reports as reports_cli
from retailhub.services.pos_import import import_pos_batch

GIFT = "Liabilities:Gift-Cards"
TAX = "Liabilities:Sales-Tax:"
PERIODS = ("2026-11", "2026-12", "2026", "2026-11-23")


def _pos_sale(shop: Shop, tmp: Path) -> None:
    """Store 1 sells a shirt for 30.00 on the gift card and 29.95 by card, three days later."""
    record = {
        "type": "sale",
        "store": "STORE-1",
        "register": "T1",
        "seq": 1,
        "timestamp": (T0 + timedelta(days=3)).isoformat(),
        "currency": "USD",
        "receipt": "S-1",
        "lines": [{"line": "1", "sku": "SHIRT-M", "quantity": 1, "unit_price": "59.95"}],
        "tenders": [
            {"method": "gift_card", "amount": "30.00", "gift_card": "GC-0001"},
            {"method": "card", "amount": "29.95", "transaction_id": "pi_s1"},
        ],
    }
    path = tmp / "store-1.jsonl"
    path.write_text(json.dumps(record) + "\n")
    with shop.hub.uow() as uow:
        import_pos_batch(
            uow,
            shop.hub.sources["pos"],
            SqlPosFeedState(uow.conn),
            read_pos_feed(path),
            shop.hub.clock(),
            path.name,
        )
        uow.commit()


@pytest.fixture
def shop(db_url: str, tmp_path: Path) -> Iterator[Shop]:
    shop = open_shop(db_url, extra_config='[gift_cards]\nbreakage_rate = "0.10"\n')
    shirt, chino, tee = shop.line("SHIRT-M"), shop.line("CHINO-32"), shop.line("TEE-L", qty=2)
    first = shop.order([shirt, chino])
    second = shop.order([tee], at=T0 + timedelta(hours=1))
    card = LineSpec(
        13_999_000_001,
        0,
        "",
        "Gift card 50.00",
        Decimal("50.00"),
        1,
        requires_shipping=False,
        gift_card=True,
    )
    gift = shop.order([card], at=T0 + timedelta(hours=2))
    shipped = shop.fulfilment(
        first, "WH", [(shirt.line_id, 1), (chino.line_id, 1)], T0 + timedelta(hours=4)
    )
    for topic, body in (
        ("orders/create", first),
        ("orders/create", second),
        ("orders/create", gift),
        ("fulfillments/create", shipped),
        (
            "fulfillments/create",
            shop.fulfilment(second, "STORE-2", [(tee.line_id, 2)], T0 + timedelta(hours=5)),
        ),
        (
            "fulfillments/create",
            shop.fulfilment(gift, "WH", [(card.line_id, 1)], T0 + timedelta(hours=6)),
        ),
    ):
        shop.deliver(topic, body)
    _pos_sale(shop, tmp_path)
    refund = shop.refund(
        after(first, [shipped]),
        [(shirt.line_id, 1, "return", LOC["STORE-2"])],
        T0 + timedelta(days=15),
    )  # 5 December
    shop.deliver("refunds/create", refund)
    stats = shop.process()
    assert stats.failed == 0 and stats.waiting == 0, shop.exceptions()
    yield shop
    shop.hub.engine.dispose()


def oracle(shop: Shop, start: date | None, end: date | None) -> dict[str, int]:
    """Balance per account of entries dated in [start, end), summed line by line in Python."""
    out: dict[str, int] = defaultdict(int)
    with shop.hub.uow() as uow:
        for t in exports.transactions(uow.conn):
            if (start is None or t.on >= start) and (end is None or t.on < end):
                for p in t.postings:
                    assert p.currency == "USD"
                    out[p.account] += p.amount
    return dict(out)


def _sum(balances: dict[str, int], prefix: str) -> int:
    return sum(v for a, v in balances.items() if a.startswith(prefix))


def cli(shop: Shop, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setattr(reports_cli, "open_hub", lambda: shop.hub)
    result = CliRunner().invoke(reports_cli.reports_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("period", PERIODS)
def test_net_income_equals_the_trial_balance_of_income_and_expenses(shop: Shop, period: str):
    start, end = exports.period_bounds(period)
    books = oracle(shop, start, end)
    with shop.hub.uow() as uow:
        usd = reports.income_statement(uow.conn, start, end)["USD"]
    assert usd.net_income == -(_sum(books, "Income") + _sum(books, "Expenses"))
    assert {a.account: -a.amount for a in usd.income} == {
        a: v for a, v in books.items() if a.startswith("Income")
    }
    assert usd.net_income != 0  # each period has trading in it: the check is not vacuous


def test_the_balance_sheet_balances_and_matches_the_journal(shop: Shop, monkeypatch):
    for as_of in (date(2026, 11, 19), date(2026, 11, 30), date(2026, 12, 31)):
        books = oracle(shop, None, as_of + timedelta(days=1))
        with shop.hub.uow() as uow:
            sheet = reports.balance_sheet(uow.conn, as_of)["USD"]
        assert sheet.balanced
        assert sheet.total_assets == _sum(books, "Assets") > 0
        assert sheet.total_liabilities == -_sum(books, "Liabilities")
        earnings = {a.account: a.amount for a in sheet.equity}[reports.CURRENT_EARNINGS]
        assert earnings == -(_sum(books, "Income") + _sum(books, "Expenses"))
    out = cli(shop, monkeypatch, "balance-sheet", "--as-of", "2026-12-31")
    usd = out["currencies"][0]
    assert usd["balanced"] and usd["total_assets"] == usd["total_liabilities"] + usd["total_equity"]


@pytest.mark.parametrize("by", ["channel", "location"])
def test_profit_by_segment_sums_to_net_income(shop: Shop, monkeypatch, by: str):
    for period in ("2026-11", "2026-12"):
        start, end = exports.period_bounds(period)
        books = oracle(shop, start, end)
        out = cli(shop, monkeypatch, "profit", "--period", period, "--by", by)
        net = -(_sum(books, "Income") + _sum(books, "Expenses"))
        assert sum(s["profit"] for s in out["segments"]) == out["total"]["USD"] == net
    november = cli(shop, monkeypatch, "profit", "--period", "2026-11", "--by", by)
    segments = {s["segment"] for s in november["segments"]}
    assert {"web", "pos"} <= segments if by == "channel" else "STORE-1" in segments


def test_sales_tax_closing_equals_the_tax_accounts_balance(shop: Shop, monkeypatch):
    for period in PERIODS:
        start, end = exports.period_bounds(period)
        out = cli(shop, monkeypatch, "sales-tax", "--period", period)["jurisdictions"]
        to_date, during = oracle(shop, None, end), oracle(shop, start, end)
        assert {j["account"] for j in out} == {a for a in to_date if a.startswith(TAX)}
        for j in out:
            assert j["closing"] == -to_date[j["account"]]
            assert j["closing"] == j["opening"] + j["collected"] - j["refunded"]
            assert j["collected"] - j["refunded"] == -during.get(j["account"], 0)
    december = cli(shop, monkeypatch, "sales-tax", "--period", "2026-12")["jurisdictions"]
    assert {j["jurisdiction"] for j in december} == {"NY-State-Tax", "New-York-City-Tax"}
    assert all(j["refunded"] > 0 and j["collected"] == 0 and j["opening"] > 0 for j in december)


def test_gift_card_roll_forward(shop: Shop, monkeypatch):
    def roll(period: str) -> dict[str, int]:
        rows = cli(shop, monkeypatch, "gift-cards", "--period", period)["gift_cards"]
        assert len(rows) == 1
        return {k: v for k, v in rows[0].items() if isinstance(v, int)}

    # 50.00 sold; 30.00 redeemed; breakage 30.00 × 0.10 / 0.90 = 3.33 (half-even)
    november = roll("2026-11")
    assert november == {
        "opening": 0,
        "issued": 5000,
        "redeemed": 3000,
        "breakage": 333,
        "other": 0,
        "closing": 1667,
    }
    assert november["closing"] == -oracle(shop, None, date(2026, 12, 1))[GIFT]
    redemption_day = roll("2026-11-23")
    assert redemption_day == {
        "opening": 5000,
        "issued": 0,
        "redeemed": 3000,
        "breakage": 333,
        "other": 0,
        "closing": 1667,
    }
    assert roll("2026-12") == {
        "opening": 1667,
        "issued": 0,
        "redeemed": 0,
        "breakage": 0,
        "other": 0,
        "closing": 1667,
    }


@pytest.mark.parametrize("command", ["income-statement", "profit", "sales-tax", "gift-cards"])
def test_a_period_with_nothing_is_all_zeros(shop: Shop, monkeypatch, command: str):
    out = cli(shop, monkeypatch, command, "--period", "2025-06")
    if command == "income-statement":
        assert out["currencies"] == [
            {
                "currency": "USD",
                "income": {},
                "expenses": {},
                "total_income": 0,
                "total_expenses": 0,
                "net_income": 0,
            }
        ]
    elif command == "profit":
        assert out["segments"] == [] and out["total"] == {"USD": 0}
    elif command == "sales-tax":
        assert out["jurisdictions"] == []
    else:
        assert [r["closing"] for r in out["gift_cards"]] == [0]
    sheet = cli(shop, monkeypatch, "balance-sheet", "--as-of", "2025-06-30")["currencies"][0]
    assert (sheet["total_assets"], sheet["total_equity"], sheet["balanced"]) == (0, 0, True)


def test_tables_render(shop: Shop, monkeypatch):
    monkeypatch.setattr(reports_cli, "open_hub", lambda: shop.hub)
    runner = CliRunner()
    for args, expected in (
        (["income-statement", "--period", "2026-11"], "Net income"),
        (["balance-sheet", "--as-of", "2026-11-30"], "Liabilities + equity"),
        (["profit", "--period", "2026", "--by", "location"], "STORE-1"),
        (["sales-tax", "--period", "2026"], "NY-State-Tax"),
        (["gift-cards", "--period", "2026"], "16.67"),
    ):
        result = runner.invoke(reports_cli.reports_app, args)
        assert result.exit_code == 0, result.output
        assert expected in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["income-statement", "--period", "2026-13"], "use YYYY, YYYY-MM or YYYY-MM-DD"),
        (["profit", "--period", "last month"], "use YYYY, YYYY-MM or YYYY-MM-DD"),
        (["sales-tax", "--period", "2026-02-30"], "2026-02-30"),
        (["gift-cards", "--period", "26-1"], "26-1"),
        (["balance-sheet", "--as-of", "2026-11"], "is not a date (YYYY-MM-DD)"),
        (["profit", "--period", "2026", "--by", "brand"], "use channel or location"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(args: list[str], message: str, monkeypatch):
    def no_hub() -> None:
        raise AssertionError("a bad argument must be refused before the database is opened")

    monkeypatch.setattr(reports_cli, "open_hub", no_hub)
    result = CliRunner().invoke(reports_cli.reports_app, args)
    assert result.exit_code == 2
    assert message in result.output
