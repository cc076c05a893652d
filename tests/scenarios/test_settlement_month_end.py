"""A Shopify Payments payout whose charges straddle October's month end.

Four web orders are paid through Shopify Payments between Oct 30 and Nov 2 (New York time: the
Oct 31 23:30 order is Nov 1 in UTC but October's sale), and paid out together on Nov 4. October
must carry its own fees and the money still on its way; November the rest and the deposit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from retail_shop import Shop, open_shop
from retailhub.adapters.files.settlements import read_settlements
from retailhub.adapters.storage import api_queries
from retailhub.services.settlement_import import import_settlements

EDT, EST = timezone(timedelta(hours=-4)), timezone(timedelta(hours=-5))
CLEARING = "Assets:Clearing:Shopify-Payments"
DEPOSITS = "Liabilities:Customer-Deposits"
FEES = "Expenses:Payment-Fees:Shopify-Payments"
TRANSIT = "Assets:Payouts-In-Transit"
BANK = "Assets:Bank"
OPENED = date(2026, 11, 19)  # open_shop's opening stock is dated the day before its T0

# order time (local), SKU, price, fee (2.9% + 30c), net
SALES = [
    (datetime(2026, 10, 30, 14, 0, tzinfo=EDT), "SHIRT-M", "59.95", "2.04", "57.91"),
    (datetime(2026, 10, 31, 23, 30, tzinfo=EDT), "CHINO-32", "79.00", "2.59", "76.41"),
    (datetime(2026, 11, 1, 12, 0, tzinfo=EST), "TEE-L", "24.95", "1.02", "23.93"),
    (datetime(2026, 11, 2, 9, 0, tzinfo=EST), "SOCKS", "9.99", "0.59", "9.40"),
]


def trial_balance(shop: Shop, as_of: date) -> dict[str, int]:
    """USD balances as of a date, the opening stock left out."""
    with shop.hub.uow() as uow:
        rows = api_queries.trial_balance(uow.conn, as_of=as_of)
    books = {r["account"]: r["balance"] for r in rows}
    if as_of >= OPENED:
        for account, opening in shop.opening.items():
            books[account] = books.get(account, 0) - opening
    return {account: amount for account, amount in books.items() if amount}


def settlement_entries(shop: Shop) -> list[tuple[str, date, dict[str, int]]]:
    with shop.hub.uow() as uow:
        entries = api_queries.list_journals(uow.conn, source_kind="settlement")
    out = []
    for e in entries:
        lines: dict[str, int] = {}
        for line in e["lines"]:
            lines[line["account"]] = lines.get(line["account"], 0) + line["amount"]
        out.append((e["rule"], date.fromisoformat(str(e["entry_date"])), lines))
    return out


def import_payout(shop: Shop, path: Path) -> tuple[list[str], list[str]]:
    with shop.hub.uow() as uow:
        outcome = import_settlements(uow, shop.hub.settings.rules(),
                                     read_settlements(path, "shopify-payments"), path.name,
                                     shop.hub.clock())  # fmt: skip
        uow.commit()
    return outcome.imported, outcome.duplicates


def test_a_payout_across_october_month_end_is_split_to_each_month(
    db_url: str, tmp_path: Path
) -> None:
    """Hand-computed, USD:

    | sale (New York)  | price | fee  | net   | month |
    |------------------|-------|------|-------|-------|
    | Oct 30 14:00     | 59.95 | 2.04 | 57.91 | Oct   |
    | Oct 31 23:30     | 79.00 | 2.59 | 76.41 | Oct   |
    | Nov 1 12:00      | 24.95 | 1.02 | 23.93 | Nov   |
    | Nov 2 09:00      |  9.99 | 0.59 |  9.40 | Nov   |

    Payout 92000010 deposited Nov 4: 57.91 + 76.41 + 23.93 + 9.40 = 167.65.

        2026-10-31 settlement:2026-10  Clearing -138.95  Fees 4.63  In transit 134.32
        2026-11-02 settlement:2026-11  Clearing  -34.94  Fees 1.61  In transit  33.33
        2026-11-04 settlement:payout   Bank 167.65                  In transit -167.65

    October's trial balance: deposits -138.95 (captured, not yet shipped), clearing 0, fees
    4.63, in transit 134.32. November's adds the rest: deposits -173.89, fees 6.24, bank
    167.65, nothing left in transit or clearing.
    """
    shop = open_shop(db_url)
    rows = []
    for at, sku, price, fee, net in SALES:
        order = shop.order([shop.line(sku, taxes=())], at=at)
        assert order["total_price"] == price
        shop.deliver("orders/create", order)
        when = at.strftime("%Y-%m-%d %H:%M:%S %z")
        rows.append(
            f"{when},charge,{order['name']},paid,2026-11-04,92000010,{price},{fee},{net},USD"
        )
    assert shop.process().failed == 0, shop.exceptions()
    export = tmp_path / "payout_transactions.csv"
    export.write_text(
        "Transaction Date,Type,Order,Payout Status,Payout Date,Payout ID,Amount,Fee,Net,Currency\n"
        + "\n".join(rows) + "\n"
    )  # fmt: skip

    assert import_payout(shop, export) == (["shopify_payments:92000010"], [])
    assert settlement_entries(shop) == [
        ("settlement:2026-10", date(2026, 10, 31), {CLEARING: -13895, FEES: 463, TRANSIT: 13432}),
        ("settlement:2026-11", date(2026, 11, 2), {CLEARING: -3494, FEES: 161, TRANSIT: 3333}),
        ("settlement:payout", date(2026, 11, 4), {BANK: 16765, TRANSIT: -16765}),
    ]
    assert trial_balance(shop, date(2026, 10, 31)) == {
        DEPOSITS: -13895, FEES: 463, TRANSIT: 13432,
    }  # fmt: skip
    assert trial_balance(shop, date(2026, 11, 3)) == {
        DEPOSITS: -17389, FEES: 624, TRANSIT: 16765,
    }  # fmt: skip
    assert trial_balance(shop, date(2026, 11, 30)) == {
        DEPOSITS: -17389, FEES: 624, BANK: 16765,
    }  # fmt: skip

    # The same file again (an overlapping export): nothing new is posted.
    assert import_payout(shop, export) == ([], ["shopify_payments:92000010"])
    assert len(settlement_entries(shop)) == 3


def test_a_payout_of_october_sales_deposited_in_november_keeps_them_in_october(
    db_url: str, tmp_path: Path
) -> None:
    """Both sales on Oct 30 and Oct 31 (New York), paid out on Nov 2: the payout crosses the
    month end although every line is October's, so October carries its fees and the money in
    transit, November the deposit.

        2026-10-31 settlement:2026-10  Clearing -138.95  Fees 4.63  In transit 134.32
        2026-11-02 settlement:payout   Bank 134.32                  In transit -134.32
    """
    shop = open_shop(db_url)
    rows = []
    for at, sku, price, fee, net in SALES[:2]:
        order = shop.order([shop.line(sku, taxes=())], at=at)
        shop.deliver("orders/create", order)
        when = at.strftime("%Y-%m-%d %H:%M:%S %z")
        rows.append(
            f"{when},charge,{order['name']},paid,2026-11-02,92000011,{price},{fee},{net},USD"
        )
    assert shop.process().failed == 0, shop.exceptions()
    export = tmp_path / "payout_transactions.csv"
    export.write_text(
        "Transaction Date,Type,Order,Payout Status,Payout Date,Payout ID,Amount,Fee,Net,Currency\n"
        + "\n".join(rows) + "\n"
    )  # fmt: skip
    assert import_payout(shop, export) == (["shopify_payments:92000011"], [])
    assert settlement_entries(shop) == [
        ("settlement:2026-10", date(2026, 10, 31), {CLEARING: -13895, FEES: 463, TRANSIT: 13432}),
        ("settlement:payout", date(2026, 11, 2), {BANK: 13432, TRANSIT: -13432}),
    ]
    assert trial_balance(shop, date(2026, 10, 31)) == {
        DEPOSITS: -13895, FEES: 463, TRANSIT: 13432,
    }  # fmt: skip
