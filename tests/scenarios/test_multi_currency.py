"""A USD company selling in euros: books restated at the day's rate, payouts realising the
exchange difference, and facts waiting for a rate the rates file does not have yet.

The company keeps its books in USD (``[company] currency``) and supplies its own rates file
(``[fx] rates_file``: USD per EUR by date). A EUR shop's order is booked in USD at the rate of
its date; the Stripe clearing account keeps the euros it is owed, the conversion account
balances each entry in each currency. When Stripe pays the euros out in dollars at its own rate,
the difference to what the captures were booked at is a realised gain or loss. Every figure
below is worked out by hand in the test's docstring.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from retail_shop import STATE, T0, Shop, open_shop
from retailhub.adapters.files.settlements import read_settlements
from retailhub.adapters.storage import api_queries
from retailhub.adapters.storage.money_records import SqlMoneyRecords
from retailhub.demo.shopify_payloads import LineSpec, order_payload
from retailhub.domain.reconciliation import MatchPolicy
from retailhub.services import exception_actions
from retailhub.services.reconcile import run_reconciliation
from retailhub.services.settlement_import import ImportOutcome, import_settlements

CLEARING = "Assets:Clearing:Stripe"
CONVERSION = "Equity:Currency-Conversion"
FX = "Income:FX-Gains-Losses"
DEPOSITS = "Liabilities:Customer-Deposits"
FEES = "Expenses:Payment-Fees:Stripe"
NOV_20 = T0  # 2026-11-20 10:00 in New York, the company's time zone

STRIPE_HEADER = (
    "automatic_payout_id,automatic_payout_effective_at_utc,balance_transaction_id,created_utc,"
    "currency,gross,fee,net,reporting_category,source_id,description,customer_facing_amount,"
    "customer_facing_currency,charge_id,payment_metadata[order_id]\n"
)


def fx_shop(db_url: str, tmp_path: Path, rates: str) -> tuple[Shop, Path]:
    path = tmp_path / "fx_rates.csv"
    path.write_text("date,currency,rate\n" + rates)
    shop = open_shop(db_url, extra_config=f'[fx]\nrates_file = "{path}"\n')
    return shop, path


def euro_order(
    shop: Shop, lines: list[LineSpec], at: datetime, gateway: str = "stripe"
) -> dict[str, Any]:
    """An orders/create body from a shop whose currency is the euro."""
    n = next(shop.ids)
    return order_payload(order_id=5_000_000_000 + n, number=1000 + n, created_at=at,
                         updated_at=at, currency="EUR", lines=lines, gateway=gateway,
                         customer_id=7_000_000_000 + n)  # fmt: skip


def journal(shop: Shop, memo_prefix: str) -> list[dict[tuple[str, str], int]]:
    """Each entry whose memo starts with ``memo_prefix``, as {(account, currency): amount}."""
    with shop.hub.uow() as uow:
        entries = api_queries.list_journals(uow.conn, limit=1000)
    out = []
    for entry in entries:
        if entry["memo"].startswith(memo_prefix):
            sums: dict[tuple[str, str], int] = defaultdict(int)
            for line in entry["lines"]:
                sums[(line["account"], line["currency"])] += line["amount"]
            out.append({k: v for k, v in sums.items() if v})
    return out


def balances(shop: Shop, as_of: date | None = None) -> dict[tuple[str, str], int]:
    """Balance per account and currency, the opening stock left out."""
    with shop.hub.uow() as uow:
        rows = api_queries.trial_balance(uow.conn, as_of=as_of)
    out = {(r["account"], r["currency"]): r["balance"] for r in rows}
    for account, opening in shop.opening.items():
        out[(account, "USD")] = out.get((account, "USD"), 0) - opening
    return {k: v for k, v in out.items() if v}


def balanced_per_currency(books: dict[tuple[str, str], int]) -> None:
    totals: dict[str, int] = defaultdict(int)
    for (_, currency), amount in books.items():
        totals[currency] += amount
    assert not any(totals.values()), dict(totals)


def import_file(shop: Shop, path: Path, fmt: str) -> ImportOutcome:
    with shop.hub.uow() as uow:
        outcome = import_settlements(
            uow, shop.hub.settings.rules(), read_settlements(path, fmt), path.name, shop.hub.clock()
        )
        if not outcome.blocked:
            uow.commit()
    return outcome


def test_a_euro_order_is_booked_in_dollars_at_the_rate_of_its_day(
    db_url: str, tmp_path: Path
) -> None:
    """A shirt at EUR 59.95 plus 4% NY State tax (2.40): EUR 62.35, paid through Stripe on
    Nov 20, when a euro buys USD 1.0843; shipped the same day.

    Capture: the clearing account is owed euros; the deposit is restated,
    62.35 * 1.0843 = 67.606105 -> 67.61:
        Assets:Clearing:Stripe           62.35 EUR
        Equity:Currency-Conversion      -62.35 EUR
        Equity:Currency-Conversion       67.61 USD
        Liabilities:Customer-Deposits   -67.61 USD
    Revenue, every line restated: 59.95 * 1.0843 = 65.003785 -> 65.00 and 2.40 * 1.0843 =
    2.60232 -> 2.60, so 65.00 + 2.60 = 67.60 leaves the conversion account a cent:
        Liabilities:Customer-Deposits    67.61 USD
        Income:Sales                    -65.00 USD
        Liabilities:Sales-Tax:NY-State-Tax  -2.60 USD
        Equity:Currency-Conversion       -0.01 USD
    Cost of goods: the shirt's cost, USD 22.00, is already in dollars.
    """
    shop, _ = fx_shop(db_url, tmp_path, "2026-11-19,EUR,1.0800\n2026-11-20,EUR,1.0843\n")
    shirt = shop.line("SHIRT-M", taxes=(STATE,))
    order = euro_order(shop, [shirt], NOV_20)
    assert order["total_price"] == "62.35"
    shop.deliver("orders/create", order)
    shop.deliver(
        "fulfillments/create",
        shop.fulfilment(order, "WH", [(shirt.line_id, 1)], NOV_20 + timedelta(hours=2)),
    )
    stats = shop.process()
    assert stats.failed == 0, shop.exceptions()

    assert journal(shop, "Payment captured") == [{
        (CLEARING, "EUR"): 6235, (CONVERSION, "EUR"): -6235,
        (CONVERSION, "USD"): 6761, (DEPOSITS, "USD"): -6761,
    }]  # fmt: skip
    assert journal(shop, "Revenue recognised") == [{
        (DEPOSITS, "USD"): 6761, ("Income:Sales", "USD"): -6500,
        ("Liabilities:Sales-Tax:NY-State-Tax", "USD"): -260, (CONVERSION, "USD"): -1,
    }]  # fmt: skip
    assert journal(shop, "Cost of goods sold") == [
        {("Expenses:COGS", "USD"): 2200, ("Assets:Inventory", "USD"): -2200}
    ]
    books = balances(shop)
    assert books == {
        (CLEARING, "EUR"): 6235, (CONVERSION, "EUR"): -6235, (CONVERSION, "USD"): 6760,
        ("Income:Sales", "USD"): -6500, ("Liabilities:Sales-Tax:NY-State-Tax", "USD"): -260,
        ("Expenses:COGS", "USD"): 2200, ("Assets:Inventory", "USD"): -2200,
    }  # fmt: skip
    balanced_per_currency(books)
    with shop.hub.uow() as uow:
        stored = uow.orders.get("shopify", str(order["id"]))
    assert stored is not None and stored.order.currency == "EUR"


def test_a_dollar_payout_of_euro_charges_realises_the_exchange_difference(
    db_url: str, tmp_path: Path
) -> None:
    """Two euro orders paid through Stripe, paid out together in dollars on Nov 25 at Stripe's
    own rate, 1.0900 (the payout reconciliation report's gross, in USD):

    | order | date   | EUR   | booked at | book USD | paid out USD | fee  | realised       |
    |-------|--------|-------|-----------|----------|--------------|------|----------------|
    | A     | Nov 20 | 62.35 | 1.0843    | 67.61    | 67.96        | 2.27 | +0.35 gain     |
    | B     | Nov 23 | 24.95 | 1.0950    | 27.32    | 27.20        | 1.09 | -0.12 loss     |

    (24.95 * 1.0950 = 27.32025 -> 27.32.) The payout is 65.69 + 26.11 = 91.80:
        Assets:Clearing:Stripe          -87.30 EUR
        Equity:Currency-Conversion       87.30 EUR
        Equity:Currency-Conversion      -94.93 USD   (67.61 + 27.32, the captures' book value)
        Expenses:Payment-Fees:Stripe      3.36 USD
        Assets:Bank                      91.80 USD
        Income:FX-Gains-Losses           -0.23 USD   (a gain: 0.35 - 0.12)
    Afterwards the clearing account owes nothing in either currency and the conversion account
    is back to zero: its euros and their book value went out together.
    """
    shop, _ = fx_shop(db_url, tmp_path, "2026-11-20,EUR,1.0843\n2026-11-23,EUR,1.0950\n")
    a = euro_order(shop, [shop.line("SHIRT-M", taxes=(STATE,))], NOV_20)
    b = euro_order(shop, [shop.line("TEE-L", taxes=())], NOV_20 + timedelta(days=3))
    shop.deliver("orders/create", a)
    shop.deliver("orders/create", b)
    assert shop.process().failed == 0, shop.exceptions()

    report = tmp_path / "stripe.csv"
    report.write_text(
        STRIPE_HEADER
        + f"po_fx,2026-11-25 00:00:00,txn_a,2026-11-20 15:05:00,usd,67.96,2.27,65.69,charge,"
          f"ch_fx_a,Order A,62.35,eur,ch_fx_a,{a['id']}\n"
        + f"po_fx,2026-11-25 00:00:00,txn_b,2026-11-23 15:05:00,usd,27.20,1.09,26.11,charge,"
          f"ch_fx_b,Order B,24.95,eur,ch_fx_b,{b['id']}\n"
    )  # fmt: skip
    outcome = import_file(shop, report, "stripe")
    assert outcome.imported == ["stripe:po_fx"] and outcome.blocked == []

    assert journal(shop, "Settlement stripe po_fx") == [{
        (CLEARING, "EUR"): -8730, (CONVERSION, "EUR"): 8730, (CONVERSION, "USD"): -9493,
        (FEES, "USD"): 336, ("Assets:Bank", "USD"): 9180, (FX, "USD"): -23,
    }]  # fmt: skip
    books = balances(shop)
    assert books == {
        (DEPOSITS, "USD"): -(6761 + 2732),
        (FEES, "USD"): 336,
        ("Assets:Bank", "USD"): 9180,
        (FX, "USD"): -23,
    }
    balanced_per_currency(books)

    # Reconciliation compares each line in the currency the customer paid (EUR, as booked),
    # not the dollars Stripe converted it to: both charges match their receipts exactly.
    with shop.hub.uow() as uow:
        report = run_reconciliation(uow, SqlMoneyRecords(uow.conn), MatchPolicy(), shop.hub.clock())
        uow.commit()
    assert report.findings == [] and report.matched_lines == 2


def test_a_shopify_order_shown_in_euros_on_a_dollar_shop_is_booked_in_shop_money(
    db_url: str, tmp_path: Path
) -> None:
    """The shop's currency is USD; the customer saw and paid EUR 55.20 (presentment money) for
    a USD 59.95 shirt. The books are in shop money: nothing to restate, no rate needed (this
    shop has no rates file at all). The presentment currency and total are kept on the order.
    Shopify Payments pays the order out in dollars (Presentment Amount 55.20 EUR on the row):
    the clearing account was debited in dollars, so it is cleared in dollars."""
    shop = open_shop(db_url)
    order = shop.order([shop.line("SHIRT-M", taxes=())], at=NOV_20)
    order["presentment_currency"] = "EUR"
    order["total_price_set"]["presentment_money"] = {"amount": "55.20", "currency_code": "EUR"}
    shop.deliver("orders/create", order)
    assert shop.process().failed == 0, shop.exceptions()
    with shop.hub.uow() as uow:
        stored = uow.orders.get("shopify", str(order["id"]))
    assert stored is not None
    assert (stored.order.currency, stored.order.total_price) == ("USD", 5995)
    assert (stored.order.presentment_currency, stored.order.presentment_total) == ("EUR", 5520)

    export = tmp_path / "payouts.csv"
    export.write_text(
        "Transaction Date,Type,Order,Payout Status,Payout Date,Payout ID,Amount,Fee,Net,"
        "Presentment Amount,Presentment Currency,Currency\n"
        f"2026-11-20 10:01:00 -0500,charge,{order['name']},paid,2026-11-24,92000001,59.95,2.04,"
        "57.91,55.20,EUR,USD\n"
    )
    assert import_file(shop, export, "shopify-payments").imported == ["shopify_payments:92000001"]
    books = balances(shop)
    assert all(currency == "USD" for _, currency in books)
    assert ("Assets:Clearing:Shopify-Payments", "USD") not in books  # captured, then paid out
    assert books[("Assets:Bank", "USD")] == 5791
    assert books[("Expenses:Payment-Fees:Shopify-Payments", "USD")] == 204


def test_an_order_waits_for_its_rate_and_posts_once_the_rates_file_has_it(
    db_url: str, tmp_path: Path
) -> None:
    """The rates file starts on Nov 21; a Nov 20 euro order cannot be restated. The delivery is
    refused as ``fx_rate_missing`` (finance's), saying which currency and date; nothing of it
    is applied. Finance adds the Nov 20 rate and replays the subject: the order posts at it."""
    shop, rates = fx_shop(db_url, tmp_path, "2026-11-21,EUR,1.0900\n")
    order = euro_order(shop, [shop.line("SHIRT-M", taxes=(STATE,))], NOV_20)
    shop.deliver("orders/create", order)
    stats = shop.process()
    assert (stats.applied, stats.failed) == (0, 1)
    [problem] = shop.exceptions()
    assert (problem["type"], problem["owner"], problem["subject"]) == (
        "fx_rate_missing",
        "finance",
        "fx:EUR:2026-11-20",
    )
    assert "no EUR rate on or before 2026-11-20 in fx_rates.csv" in problem["reason"]
    assert journal(shop, "Payment captured") == []
    with shop.hub.uow() as uow:
        assert uow.orders.get("shopify", str(order["id"])) is None  # all or nothing

    with rates.open("a") as fh:
        fh.write("2026-11-20,EUR,1.0843\n")
    with shop.hub.uow() as uow:
        outcomes = exception_actions.replay(uow, shop.hub.clock(), subject="fx:EUR:2026-11-20")
        uow.commit()
    assert [o.status for o in outcomes] == ["requeued"]
    stats = shop.process()
    assert (stats.applied, stats.failed) == (1, 0), shop.exceptions()
    assert shop.exceptions() == []
    assert journal(shop, "Payment captured") == [{
        (CLEARING, "EUR"): 6235, (CONVERSION, "EUR"): -6235,
        (CONVERSION, "USD"): 6761, (DEPOSITS, "USD"): -6761,
    }]  # fmt: skip


def test_a_euro_payout_waiting_for_a_rate_is_refused_then_imported_in_euros(
    db_url: str, tmp_path: Path
) -> None:
    """A Stripe payout in euros into a euro account, deposited Nov 18, before the first rate:
    the file is refused (nothing stored) with the reason. Once the rates file has Nov 18
    (1.0700) the same file imports: the clearing account and the bank keep their euros, the
    EUR 1.50 fee is restated, 1.50 * 1.07 = 1.605 -> 1.60 (half-even):
        Assets:Clearing:Stripe          -50.00 EUR
        Assets:Bank                      48.50 EUR
        Expenses:Payment-Fees:Stripe      1.60 USD
        Equity:Currency-Conversion        1.50 EUR
        Equity:Currency-Conversion       -1.60 USD
    Nothing is realised: no euro was exchanged."""
    shop, rates = fx_shop(db_url, tmp_path, "2026-11-20,EUR,1.0843\n")
    report = tmp_path / "stripe-eur.csv"
    report.write_text(
        STRIPE_HEADER
        + "po_eur,2026-11-18 00:00:00,txn_e,2026-11-16 15:05:00,eur,50.00,1.50,48.50,charge,"
          "ch_e,Order E,50.00,eur,ch_e,\n"
    )  # fmt: skip
    outcome = import_file(shop, report, "stripe")
    assert outcome.imported == []
    [(label, problem)] = outcome.blocked
    assert label == "stripe:po_eur" and problem.subject == "fx:EUR:2026-11-18"
    with shop.hub.uow() as uow:
        assert not uow.settlements.exists("stripe", "po_eur")

    with rates.open("a") as fh:
        fh.write("2026-11-18,EUR,1.0700\n")
    assert import_file(shop, report, "stripe").imported == ["stripe:po_eur"]
    assert journal(shop, "Settlement stripe po_eur") == [{
        (CLEARING, "EUR"): -5000, ("Assets:Bank", "EUR"): 4850, (FEES, "USD"): 160,
        (CONVERSION, "EUR"): 150, (CONVERSION, "USD"): -160,
    }]  # fmt: skip
    assert import_file(shop, report, "stripe").duplicates == ["stripe:po_eur"]
