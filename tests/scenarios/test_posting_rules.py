"""Posting rules in retailhub.toml, sale by sale: where each kind of transaction posts.

Finance decides where the amounts go; the posting functions decide which amounts exist. Each
story configures ``[posting_rules]``, runs real deliveries through the hub and compares every
line of the entries posted with entries worked out by hand, written as ledger text::

    2026-11-20  web_sale@2026-01-01 v2026.1          (entry date, then the rule that posted it)
      Income:Sales:Web                  -19890  web  (account, signed cents: debit +, credit −,
      Liabilities:Customer-Deposits      19923  web   then channel, location, brand; "-" none)

Columns are separated by two spaces or more. Money, fees and drawers are in
``test_posting_rules_money.py``; stock counts and transfers in ``test_posting_rules_stock.py``.

The shop (``retail_shop.py``) trades from 2026-11-20 (T0, 10:00 in New York). NY State tax
is 4% and New York City tax 4.5%, rounded half-up per line; every Shopify line's vendor is
"Demo Outfitters" unless a story names another.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import func, select
from typer.testing import CliRunner

from retail_shop import LOC, SECRET, T0, DiscountSpec, Shop, after, open_shop
from retailhub import config
from retailhub.adapters.files.pos_feed import read_pos_feed
from retailhub.adapters.storage.pos_state import SqlPosFeedState
from retailhub.adapters.storage.tables import journal_entries, journal_lines
from retailhub.bootstrap import Hub, bootstrap
from retailhub.demo.retailer import config_text
from retailhub.demo.shopify_payloads import LineSpec
from retailhub.entrypoints.cli.main import app
from retailhub.services.pos_import import import_pos_batch

DAY = T0.date()  # 2026-11-20




def rules(tables: str, version: str = "2026.1", before: str = "") -> str:
    """``[posting_rules]`` with its ``[[posting_rules.rule]]`` tables, appended to the shop's
    configuration; ``before``: other settings the story needs (channels, gift cards)."""
    return f'{before}\n[posting_rules]\nversion = "{version}"\n{tables}'


# -- the journal, as stored and as expected ---------------------------------------------------


class Line(NamedTuple):
    account: str
    debit: int
    credit: int
    channel: str | None
    location: str | None
    brand: str | None


@dataclass(frozen=True)
class Posted:
    """One journal entry: its date, the rule that produced it, its lines (in sorted order)."""

    entry_date: date
    rule_version: str | None
    lines: tuple[Line, ...]


def line(account: str, amount: int, *dims: str | None) -> Line:
    channel, location, brand = (*dims, None, None, None)[:3]
    return Line(account, max(amount, 0), max(-amount, 0), channel, location, brand)


def in_order(lines: Iterable[Line]) -> tuple[Line, ...]:
    """Lines in a fixed order, whatever order they were posted in (no dimension sorts first)."""
    return tuple(sorted(lines, key=lambda x: tuple("" if v is None else v for v in x)))


def ledger(text: str) -> Posted:
    """An expected entry written as ledger text (module docstring)."""
    head, *rows = (re.split(r"\s{2,}", row.strip()) for row in text.strip().splitlines())
    lines = (
        line(account, int(amount), *(None if d == "-" else d for d in dims))
        for account, amount, *dims in rows
    )
    return Posted(date.fromisoformat(head[0]), head[1], in_order(lines))


def posted(hub: Hub) -> dict[str, Posted]:
    """Every journal entry in the database, by its idempotency key."""
    e, ln = journal_entries.c, journal_lines.c
    query = (
        select(e.key, e.entry_date, e.rule_version)
        .add_columns(ln.account, ln.amount, ln.channel, ln.location, ln.brand)
        .join_from(journal_entries, journal_lines, ln.entry_id == e.id)
        .order_by(e.id, ln.id)
    )
    found: dict[str, tuple[date, str | None, list[Line]]] = {}
    with hub.uow() as uow:
        for key, on, version, account, amount, *dims in uow.conn.execute(query):
            found.setdefault(key, (on, version, []))[2].append(line(account, int(amount), *dims))
    return {k: Posted(on, v, in_order(lines)) for k, (on, v, lines) in found.items()}


def entry_count(hub: Hub) -> int:
    with hub.uow() as uow:
        return int(uow.conn.execute(select(func.count()).select_from(journal_entries)).scalar())


# -- trading -----------------------------------------------------------------------------------


def run(shop: Shop, *deliveries: tuple[str, dict[str, Any]]) -> None:
    """Deliver signed Shopify webhooks and process them; every one must apply."""
    for topic, body in deliveries:
        shop.deliver(topic, body)
    stats = shop.process()
    assert (stats.failed, stats.waiting) == (0, 0), shop.exceptions()


def till(seq: int, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """A record of register T1 at STORE-1 in the POS batch feed (docs/pos-feed.md)."""
    where = {"store": "STORE-1", "register": "T1", "currency": "USD"}
    return {"type": kind, "seq": seq, "timestamp": at.isoformat(), **where, **fields}


def sold(line_no: str, sku: str, qty: int, price: str, **fields: Any) -> dict[str, Any]:
    return {"line": line_no, "sku": sku, "quantity": qty, "unit_price": price, **fields}


def paid(method: str, amount: str, **fields: str) -> dict[str, str]:
    return {"method": method, "amount": amount, **fields}


def upload(shop: Shop, tmp: Path, records: list[dict[str, Any]]) -> None:
    """A register's batch file, imported and processed; every record must apply."""
    path = tmp / f"batch-{records[0]['seq']}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with shop.hub.uow() as uow:
        feed = SqlPosFeedState(uow.conn)
        clock = shop.hub.clock()
        import_pos_batch(uow, shop.hub.sources["pos"], feed, read_pos_feed(path), clock, path.name)
        uow.commit()
    stats = shop.process()
    assert (stats.failed, stats.waiting) == (0, 0), shop.exceptions()


# -- sales -------------------------------------------------------------------------------------

WEB_SALE = """
[[posting_rules.rule]]
type = "web_sale"
effective_from = 2026-01-01
dimensions = ["channel"]
[posting_rules.rule.accounts]
sales = "Income:Sales:Web"
discounts = "Income:Discounts:Web"
sales_tax = "Liabilities:Sales-Tax:Web"
shipping = "Income:Shipping:Web"
"""


def test_a_web_sale_posts_to_its_own_accounts_with_only_the_channel_dimension(db_url: str):
    """Two shirts (Northwind) and chinos (Southpaw), 10% off, 5.00 shipping, shipped from WH.

    Goods 2 × 59.95 + 79.00 = 198.90; the discount 19.89 falls 11.99 on the shirts, 7.90 on
    the chinos. Tax on the discounted lines: shirts 107.91 → 4.32 + 4.86, chinos 71.10 → 2.84 +
    3.20. Total 198.90 − 19.89 + 7.16 + 8.06 + 5.00 = 199.23. Cost 2 × 22.00 + 30.50. With
    only the channel kept, the brands and the warehouse drop out and their lines merge.
    """
    shop = open_shop(db_url, extra_config=rules(WEB_SALE))
    shirts, chinos = shop.line("SHIRT-M", 2), shop.line("CHINO-32")
    order = shop.order(
        [shirts, chinos], discount=DiscountSpec("TEN", Decimal(10)), shipping=Decimal("5.00")
    )
    order["line_items"][0]["vendor"], order["line_items"][1]["vendor"] = "Northwind", "Southpaw"
    both = [(shirts.line_id, 2), (chinos.line_id, 1)]
    shipped = shop.fulfilment(order, "WH", both, T0 + timedelta(hours=1))
    run(shop, ("orders/create", order), ("fulfillments/create", shipped))

    assert order["total_price"] == "199.23"
    book = posted(shop.hub)
    assert book[f"order:{order['id']}:capture:19923"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.1
        Assets:Clearing:Shopify-Payments           19923  web
        Liabilities:Customer-Deposits             -19923  web
    """)
    assert book[f"fulfilment:{shipped['id']}:revenue"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.1
        Income:Sales:Web                          -19890  web
        Income:Discounts:Web                        1989  web
        Liabilities:Sales-Tax:Web:NY-State-Tax      -716  web
        Liabilities:Sales-Tax:Web:New-York-City-Tax  -806  web
        Income:Shipping:Web                         -500  web
        Liabilities:Customer-Deposits              19923  web
    """)
    assert book[f"fulfilment:{shipped['id']}:cogs"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.1
        Expenses:COGS                               7450  web
        Assets:Inventory                           -7450  web
    """)


def test_a_till_sale_follows_the_pos_sale_rule(db_url: str, tmp_path: Path):
    """A shirt (59.95 + 2.40 NY State tax) and two tees (24.95, untaxed) at Store 1, paid 60.00
    by card and 52.25 cash: 112.25; cost 22.00 + 2 × 8.10. The card goes to the rule's clearing
    base per gateway; cash to the drawer that ``[accounts.gateways] cash`` names, which an
    explicit gateway mapping keeps whatever the base."""
    posting = """
        [[posting_rules.rule]]
        type = "pos_sale"
        effective_from = 2026-01-01
        channels = ["pos"]
        dimensions = ["channel", "location"]
        [posting_rules.rule.accounts]
        sales = "Income:Sales:Stores"
        sales_tax = "Liabilities:Sales-Tax:Stores"
        customer_deposits = "Liabilities:Deposits:Stores"
        clearing = "Assets:Clearing:Stores"
        cogs = "Expenses:COGS:Stores"
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    tax = {"jurisdiction": "NY State", "rate": "0.04", "amount": "2.40"}
    goods = [sold("1", "SHIRT-M", 1, "59.95", taxes=[tax]), sold("2", "TEE-L", 2, "24.95")]
    tenders = [paid("card", "60.00", transaction_id="pi_1"), paid("cash", "52.25")]
    sale = till(1, "sale", T0 + timedelta(hours=1), receipt="S-1", lines=goods, tenders=tenders)
    upload(shop, tmp_path, [sale])

    book = posted(shop.hub)
    assert book["order:STORE-1:S-1:capture:11225"] == ledger("""
        2026-11-20  pos_sale[pos]@2026-01-01 v2026.1
        Assets:Clearing:Stores:Card                 6000  pos  STORE-1
        Assets:Cash-Drawers                         5225  pos  STORE-1
        Liabilities:Deposits:Stores               -11225  pos  STORE-1
    """)
    assert book["fulfilment:STORE-1:S-1:carry-out:revenue"] == ledger("""
        2026-11-20  pos_sale[pos]@2026-01-01 v2026.1
        Income:Sales:Stores                       -10985  pos  STORE-1
        Liabilities:Sales-Tax:Stores:NY-State       -240  pos  STORE-1
        Liabilities:Deposits:Stores                11225  pos  STORE-1
    """)
    assert book["fulfilment:STORE-1:S-1:carry-out:cogs"] == ledger("""
        2026-11-20  pos_sale[pos]@2026-01-01 v2026.1
        Expenses:COGS:Stores                        3820  pos  STORE-1
        Assets:Inventory                           -3820  pos  STORE-1
    """)


CHANNELS = """
[channels.amazon]
kind = "marketplace"
locations = ["WH"]
default_location = "WH"

[channels.b2b]
locations = ["WH"]
default_location = "WH"

[connectors.shopify.source_channels]
pos = "pos"
amazon = "amazon"
b2b = "b2b"
"""


def test_a_marketplace_order_follows_the_marketplace_sale_rule(db_url: str):
    """Two tees on the Amazon channel (``kind = "marketplace"``): 49.90 + 2.00 + 2.25 tax =
    54.15, paid through Amazon; cost 2 × 8.10. A web order the same day keeps the defaults."""
    posting = """
        [[posting_rules.rule]]
        type = "marketplace_sale"
        effective_from = 2026-01-01
        dimensions = ["channel"]
        accounts = { sales = "Income:Sales:Marketplace", clearing = "Assets:Clearing:Marketplaces" }
    """
    shop = open_shop(db_url, extra_config=rules(posting, before=CHANNELS))
    tees, socks = shop.line("TEE-L", 2), shop.line("SOCKS")
    order = shop.order([tees], source_name="amazon", gateway="amazon")
    shipped = shop.fulfilment(order, "WH", [(tees.line_id, 2)], T0 + timedelta(hours=1))
    web = shop.order([socks])
    web_shipped = shop.fulfilment(web, "WH", [(socks.line_id, 1)], T0 + timedelta(hours=1))
    run(shop, ("orders/create", order), ("fulfillments/create", shipped))
    run(shop, ("orders/create", web), ("fulfillments/create", web_shipped))

    book = posted(shop.hub)
    assert book[f"order:{order['id']}:capture:5415"] == ledger("""
        2026-11-20  marketplace_sale@2026-01-01 v2026.1
        Assets:Clearing:Marketplaces:Amazon         5415  amazon
        Liabilities:Customer-Deposits              -5415  amazon
    """)
    assert book[f"fulfilment:{shipped['id']}:revenue"] == ledger("""
        2026-11-20  marketplace_sale@2026-01-01 v2026.1
        Income:Sales:Marketplace                   -4990  amazon
        Liabilities:Sales-Tax:NY-State-Tax          -200  amazon
        Liabilities:Sales-Tax:New-York-City-Tax     -225  amazon
        Liabilities:Customer-Deposits               5415  amazon
    """)
    assert book[f"fulfilment:{shipped['id']}:cogs"] == ledger("""
        2026-11-20  marketplace_sale@2026-01-01 v2026.1
        Expenses:COGS                               1620  amazon
        Assets:Inventory                           -1620  amazon
    """)
    web_revenue = book[f"fulfilment:{web_shipped['id']}:revenue"]
    assert web_revenue.rule_version == "default v2026.1"
    assert line("Income:Sales", -999, "web", "WH", "Demo Outfitters") in web_revenue.lines


def _exchange_day(shop: Shop, tmp: Path) -> None:
    """A tee (24.95, cost 8.10) sold for cash; the next day it comes back for chinos (79.00,
    cost 30.50): 24.95 of exchange credit and 54.05 by card."""
    tee, cash = sold("1", "TEE-L", 1, "24.95"), paid("cash", "24.95")
    upload(
        shop,
        tmp,
        [till(1, "sale", T0 + timedelta(hours=1), receipt="S-1", lines=[tee], tenders=[cash])],
    )
    back = {"line": "1", "quantity": 1, "amount": "24.95", "disposition": "restock"}
    chinos, card = sold("1", "CHINO-32", 1, "79.00"), paid("card", "54.05", transaction_id="pi_x")
    exchange = till(
        2,
        "exchange",
        T0 + timedelta(days=1),
        receipt="S-2",
        original="S-1",
        returned=[back],
        sold=[chinos],
        tenders=[card],
    )
    upload(shop, tmp, [exchange])


def test_an_exchange_replacement_sale_follows_the_exchange_rule(db_url: str, tmp_path: Path):
    """The chinos of an exchange are revenue of the exchange rule; the tee's own sale and its
    return keep theirs. The exchange credit passes through ``Assets:Clearing:Exchange`` and
    nets to zero, as do the deposits."""
    posting = """
        [[posting_rules.rule]]
        type = "exchange"
        effective_from = 2026-01-01
        accounts = { sales = "Income:Sales:Exchanges" }
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    _exchange_day(shop, tmp_path)

    book = posted(shop.hub)
    assert book["fulfilment:STORE-1:S-2:carry-out:revenue"] == ledger("""
        2026-11-21  exchange@2026-01-01 v2026.1
        Income:Sales:Exchanges                     -7900  pos  STORE-1
        Liabilities:Customer-Deposits               7900  pos  STORE-1
    """)
    assert book["fulfilment:STORE-1:S-1:carry-out:revenue"] == ledger("""
        2026-11-20  default v2026.1
        Income:Sales                               -2495  pos  STORE-1
        Liabilities:Customer-Deposits               2495  pos  STORE-1
    """)
    assert book["refund:STORE-1:S-2:return:refund"] == ledger("""
        2026-11-21  default v2026.1
        Income:Sales                                2495  pos  STORE-1
        Assets:Clearing:Exchange                   -2495  pos  STORE-1
    """)
    books = shop.movement_balances()
    assert books.get("Assets:Clearing:Exchange", 0) == 0
    assert books.get("Liabilities:Customer-Deposits", 0) == 0


def test_an_exchange_rule_moves_the_replacement_sales_deposits_and_cost_too(
    db_url: str, tmp_path: Path
):
    posting = """
        [[posting_rules.rule]]
        type = "exchange"
        effective_from = 2026-01-01
        [posting_rules.rule.accounts]
        sales = "Income:Sales:Exchanges"
        customer_deposits = "Liabilities:Deposits:Exchanges"
        cogs = "Expenses:COGS:Exchanges"
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    _exchange_day(shop, tmp_path)

    book = posted(shop.hub)
    assert book["order:STORE-1:S-2:capture:7900"] == ledger("""
        2026-11-21  exchange@2026-01-01 v2026.1
        Assets:Clearing:Exchange                    2495  pos  STORE-1
        Assets:Clearing:Card                        5405  pos  STORE-1
        Liabilities:Deposits:Exchanges             -7900  pos  STORE-1
    """)
    assert book["fulfilment:STORE-1:S-2:carry-out:cogs"] == ledger("""
        2026-11-21  exchange@2026-01-01 v2026.1
        Expenses:COGS:Exchanges                     3050  pos  STORE-1
        Assets:Inventory                           -3050  pos  STORE-1
    """)
    assert shop.movement_balances().get("Liabilities:Deposits:Exchanges", 0) == 0


def test_a_return_goes_to_a_contra_revenue_account(db_url: str):
    """Chinos (79.00 + 3.16 + 3.56 tax = 85.72, cost 30.50) come back to the warehouse two days
    later; 80.72 is refunded, a 5.00 restocking fee kept. The return rule reverses revenue into
    ``Income:Returns``, tax out of the jurisdictions that charged it, and books the fee as its
    refund adjustment; the sale stays in ``Income:Sales``."""
    posting = """
        [[posting_rules.rule]]
        type = "return"
        effective_from = 2026-01-01
        dimensions = ["channel"]
        accounts = { sales = "Income:Returns", refund_adjustments = "Income:Restocking-Fees" }
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    chinos = shop.line("CHINO-32")
    order = shop.order([chinos])
    shipped = shop.fulfilment(order, "WH", [(chinos.line_id, 1)], T0 + timedelta(hours=1))
    back = [(chinos.line_id, 1, "return", LOC["WH"])]
    less_fee = [(1, "shopify_payments", Decimal("80.72"))]
    refund = shop.refund(
        after(order, [shipped]), back, T0 + timedelta(days=2), transactions=less_fee
    )
    run(shop, ("orders/create", order), ("fulfillments/create", shipped))
    run(shop, ("refunds/create", refund))

    assert order["total_price"] == "85.72"
    book = posted(shop.hub)
    assert book[f"refund:{refund['id']}:refund"] == ledger("""
        2026-11-22  return@2026-01-01 v2026.1
        Income:Returns                              7900  web
        Liabilities:Sales-Tax:NY-State-Tax           316  web
        Liabilities:Sales-Tax:New-York-City-Tax      356  web
        Assets:Clearing:Shopify-Payments           -8072  web
        Income:Restocking-Fees                      -500  web
    """)
    assert book[f"refund:{refund['id']}:cogs-reversal"] == ledger("""
        2026-11-22  return@2026-01-01 v2026.1
        Assets:Inventory                            3050  web
        Expenses:COGS                              -3050  web
    """)
    sale = book[f"fulfilment:{shipped['id']}:revenue"]
    assert line("Income:Sales", -7900, "web", "WH", "Demo Outfitters") in sale.lines


# -- gift cards --------------------------------------------------------------------------------

GIFT_CARD = LineSpec(
    13_999_000_001,
    0,
    "",
    "Gift card 50.00",
    Decimal("50.00"),
    1,
    requires_shipping=False,
    gift_card=True,
)


def gift_card_rules(*types: str) -> str:
    """Rules of the gift-card ``types`` naming one liability; breakage at a 10% rate."""
    tables = ""
    for t in types:
        income = ', gift_card_breakage = "Income:Gift-Card-Breakage"' if "breakage" in t else ""
        tables += (
            f'[[posting_rules.rule]]\ntype = "{t}"\neffective_from = 2026-01-01\n'
            f'accounts = {{ gift_cards = "Liabilities:Gift-Cards:Outstanding"{income} }}\n'
        )
    rate = '[gift_cards]\nbreakage_rate = "0.10"\n' if "gift_card_breakage" in types else ""
    return rules(tables, before=rate)


def _sell_gift_card(shop: Shop) -> dict[str, Any]:
    order = shop.order([GIFT_CARD])
    sent = shop.fulfilment(order, "WH", [(GIFT_CARD.line_id, 1)], T0 + timedelta(minutes=1))
    run(shop, ("orders/create", order), ("fulfillments/create", sent))
    return sent


def _redeem_in_store(shop: Shop, tmp: Path) -> None:
    """A shirt at Store 1 three days later: 30.00 from the gift card, 29.95 by card."""
    shirt = sold("1", "SHIRT-M", 1, "59.95")
    tenders = [
        paid("gift_card", "30.00", gift_card="GC-0001"),
        paid("card", "29.95", transaction_id="pi_store_1"),
    ]
    sale = till(1, "sale", T0 + timedelta(days=3), receipt="S-1", lines=[shirt], tenders=tenders)
    upload(shop, tmp, [sale])


def test_a_gift_card_sold_is_issued_to_the_issue_rules_liability(db_url: str):
    """Selling a 50.00 card is issuing it: no revenue, the issue rule's liability. The entry
    is the web sale's (stamped with the sale's rule, here none: the defaults); only the
    liability comes from the ``gift_card_issue`` rule."""
    shop = open_shop(db_url, extra_config=gift_card_rules("gift_card_issue"))
    sent = _sell_gift_card(shop)

    assert posted(shop.hub)[f"fulfilment:{sent['id']}:revenue"] == ledger("""
        2026-11-20  default v2026.1
        Liabilities:Gift-Cards:Outstanding         -5000  web  WH
        Liabilities:Customer-Deposits               5000  web  WH
    """)


def test_paying_with_a_gift_card_redeems_the_redeem_rules_liability(db_url: str, tmp_path: Path):
    """30.00 of a shirt paid by gift card at the till, and an untaxed 24.95 tee paid wholly by
    gift card on the web: both debit the liability the ``gift_card_redeem`` rule names."""
    shop = open_shop(db_url, extra_config=gift_card_rules("gift_card_redeem"))
    _redeem_in_store(shop, tmp_path)
    order = shop.order([shop.line("TEE-L", taxes=())], gateway="gift_card")
    run(shop, ("orders/create", order))

    book = posted(shop.hub)
    assert book["order:STORE-1:S-1:capture:5995"] == ledger("""
        2026-11-23  default v2026.1
        Liabilities:Gift-Cards:Outstanding          3000  pos  STORE-1
        Assets:Clearing:Card                        2995  pos  STORE-1
        Liabilities:Customer-Deposits              -5995  pos  STORE-1
    """)
    assert book[f"order:{order['id']}:capture:2495"] == ledger("""
        2026-11-20  default v2026.1
        Liabilities:Gift-Cards:Outstanding          2495  web
        Liabilities:Customer-Deposits              -2495  web
    """)
    assert not [k for k in book if k.startswith("breakage:")]  # no breakage rate configured


def test_breakage_follows_the_breakage_rule(db_url: str, tmp_path: Path):
    """With ``breakage_rate = 0.10`` a 30.00 redemption releases 30.00 × 0.10 / 0.90 = 3.33 of
    the value expected never to be redeemed. Issue, redeem and breakage name one liability,
    which ends at 50.00 − 30.00 − 3.33 = 16.67."""
    every = gift_card_rules("gift_card_issue", "gift_card_redeem", "gift_card_breakage")
    shop = open_shop(db_url, extra_config=every)
    _sell_gift_card(shop)
    _redeem_in_store(shop, tmp_path)

    assert posted(shop.hub)["breakage:STORE-1:S-1:breakage:3000"] == ledger("""
        2026-11-23  gift_card_breakage@2026-01-01 v2026.1
        Liabilities:Gift-Cards:Outstanding           333  pos
        Income:Gift-Card-Breakage                   -333  pos
    """)
    assert shop.movement_balances()["Liabilities:Gift-Cards:Outstanding"] == -(5000 - 3000 - 333)


# -- which rule applies ------------------------------------------------------------------------

NOVEMBER = """
[[posting_rules.rule]]
type = "web_sale"
effective_from = 2026-11-21
accounts = { sales = "Income:Sales:Ecommerce" }
"""


def test_a_rule_change_applies_from_its_date_and_never_rewrites_what_was_posted(db_url: str):
    """Two tees (49.90 + 2.00 + 2.25 tax) ship one on the 20th and one on the 22nd; from the
    21st web sales go to a new account. Each shipment follows the rule in force on its own
    date (the 2.25 of city tax splits 1.12 + 1.13 over the units). Then the rules file changes
    (2026.2 restates the January rule): re-delivering the old facts posts nothing and leaves
    the stored entries as they were; only entries posted from then on use the new file, even
    when dated before the change.
    """
    january = '[[posting_rules.rule]]\ntype = "web_sale"\neffective_from = 2026-01-01\n'
    posting = january + 'accounts = { sales = "Income:Sales:Web" }\n' + NOVEMBER
    shop = open_shop(db_url, extra_config=rules(posting))
    tees = shop.line("TEE-L", 2)
    order = shop.order([tees])
    first = shop.fulfilment(order, "WH", [(tees.line_id, 1)], T0 + timedelta(hours=1))
    second = shop.fulfilment(order, "WH", [(tees.line_id, 1)], T0 + timedelta(days=2))
    run(shop, ("orders/create", order), ("fulfillments/create", first))
    run(shop, ("fulfillments/create", second))

    before = posted(shop.hub)
    assert before[f"order:{order['id']}:capture:5415"].rule_version == "web_sale@2026-01-01 v2026.1"
    assert before[f"fulfilment:{first['id']}:revenue"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.1
        Income:Sales:Web                           -2495  web  WH  Demo Outfitters
        Liabilities:Sales-Tax:NY-State-Tax          -100  web  WH
        Liabilities:Sales-Tax:New-York-City-Tax     -112  web  WH
        Liabilities:Customer-Deposits               2707  web  WH
    """)
    assert before[f"fulfilment:{second['id']}:revenue"] == ledger("""
        2026-11-22  web_sale@2026-11-21 v2026.1
        Income:Sales:Ecommerce                     -2495  web  WH  Demo Outfitters
        Liabilities:Sales-Tax:NY-State-Tax          -100  web  WH
        Liabilities:Sales-Tax:New-York-City-Tax     -113  web  WH
        Liabilities:Customer-Deposits               2708  web  WH
    """)

    restated = january + 'accounts = { sales = "Income:Sales:Restated" }\n' + NOVEMBER
    text = config_text(SECRET) + rules(restated, version="2026.2")
    hub = bootstrap(config.parse(tomllib.loads(text)), db_url, clock=lambda: datetime.now(UTC))
    later = Shop(hub, ids=shop.ids)
    updated = {**order, "updated_at": (T0 + timedelta(days=3)).isoformat()}
    run(later, ("orders/updated", updated), ("fulfillments/create", first))
    assert posted(hub) == before  # nothing re-posted, nothing rewritten

    socks = later.line("SOCKS", taxes=())
    another = later.order([socks])
    sent = later.fulfilment(another, "WH", [(socks.line_id, 1)], T0 + timedelta(hours=2))
    run(later, ("orders/create", another), ("fulfillments/create", sent))
    now = posted(hub)
    assert now[f"fulfilment:{sent['id']}:revenue"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.2
        Income:Sales:Restated                       -999  web  WH  Demo Outfitters
        Liabilities:Customer-Deposits                999  web  WH
    """)
    assert {key: now[key] for key in before} == before


def test_a_channel_rule_beats_an_all_channel_rule_and_the_latest_date_wins(db_url: str):
    """Web sales rules for every channel from January and from June (and one not in force
    until 2027), and one for the ``web`` channel only, from January. A web order takes the
    web-only rule although it is older; an order of the ``b2b`` channel (a web-kind channel
    too) takes the latest all-channel rule in force."""
    posting = """
        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-01-01
        accounts = { sales = "Income:Sales:All-January" }

        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-06-01
        accounts = { sales = "Income:Sales:All-June" }

        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2027-01-01
        accounts = { sales = "Income:Sales:All-2027" }

        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-01-01
        channels = ["web"]
        accounts = { sales = "Income:Sales:Web-Only" }
    """
    shop = open_shop(db_url, extra_config=rules(posting, before=CHANNELS))
    socks, more_socks = shop.line("SOCKS", taxes=()), shop.line("SOCKS", taxes=())
    web, b2b = shop.order([socks]), shop.order([more_socks], source_name="b2b")
    sent_web = shop.fulfilment(web, "WH", [(socks.line_id, 1)], T0 + timedelta(hours=1))
    sent_b2b = shop.fulfilment(b2b, "WH", [(more_socks.line_id, 1)], T0 + timedelta(hours=1))
    run(shop, ("orders/create", web), ("orders/create", b2b))
    run(shop, ("fulfillments/create", sent_web), ("fulfillments/create", sent_b2b))

    book = posted(shop.hub)
    assert book[f"fulfilment:{sent_web['id']}:revenue"] == ledger("""
        2026-11-20  web_sale[web]@2026-01-01 v2026.1
        Income:Sales:Web-Only                       -999  web  WH  Demo Outfitters
        Liabilities:Customer-Deposits                999  web  WH
    """)
    assert book[f"fulfilment:{sent_b2b['id']}:revenue"] == ledger("""
        2026-11-20  web_sale@2026-06-01 v2026.1
        Income:Sales:All-June                       -999  b2b  WH  Demo Outfitters
        Liabilities:Customer-Deposits                999  b2b  WH
    """)


def test_when_revenue_is_recognised_is_decided_by_the_rule_in_force_on_the_order_date(
    db_url: str,
):
    """From the 21st the web channel recognises revenue at order; before, and for every other
    channel, at fulfilment. An order of the 20th shipped on the 22nd is recognised when it
    ships (under the rule in force that day); one of the 21st when ordered, its shipment
    posting cost only (socks 2 × 9.99 = 19.98, tax 0.80 + 0.90); a b2b order of the 21st
    waits for its shipment."""
    posting = """
        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-01-01
        recognise_revenue_at = "fulfilment"

        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-11-21
        channels = ["web"]
        recognise_revenue_at = "order"
    """
    shop = open_shop(db_url, extra_config=rules(posting, before=CHANNELS))
    tee, socks, b2b_socks = shop.line("TEE-L"), shop.line("SOCKS", 2), shop.line("SOCKS")
    old = shop.order([tee])
    new = shop.order([socks], at=T0 + timedelta(days=1))
    b2b = shop.order([b2b_socks], at=T0 + timedelta(days=1), source_name="b2b")
    old_sent = shop.fulfilment(old, "WH", [(tee.line_id, 1)], T0 + timedelta(days=2))
    new_sent = shop.fulfilment(new, "WH", [(socks.line_id, 2)], T0 + timedelta(days=2))
    run(shop, ("orders/create", old), ("orders/create", new), ("orders/create", b2b))
    run(shop, ("fulfillments/create", old_sent), ("fulfillments/create", new_sent))

    book = posted(shop.hub)
    assert book[f"fulfilment:{old_sent['id']}:revenue"] == ledger("""
        2026-11-22  web_sale[web]@2026-11-21 v2026.1
        Income:Sales                               -2495  web  WH  Demo Outfitters
        Liabilities:Sales-Tax:NY-State-Tax          -100  web  WH
        Liabilities:Sales-Tax:New-York-City-Tax     -112  web  WH
        Liabilities:Customer-Deposits               2707  web  WH
    """)
    assert book[f"order:{new['id']}:revenue-at-order:2:1"] == ledger("""
        2026-11-21  web_sale[web]@2026-11-21 v2026.1
        Income:Sales                               -1998  web  WH  Demo Outfitters
        Liabilities:Sales-Tax:NY-State-Tax           -80  web  WH
        Liabilities:Sales-Tax:New-York-City-Tax      -90  web  WH
        Liabilities:Customer-Deposits               2168  web  WH
    """)
    assert f"fulfilment:{new_sent['id']}:revenue" not in book
    assert f"fulfilment:{new_sent['id']}:cogs" in book
    assert not [k for k in book if k.startswith(f"order:{b2b['id']}:revenue")]


def test_the_brand_dimension_comes_from_the_shopify_vendor(db_url: str):
    """A Northwind shirt, a Southpaw tee and socks with no vendor: 94.89 of goods; tax 2.40 +
    1.00 + 0.40 = 3.80 and 2.70 + 1.12 + 0.45 = 4.27 (102.96). Keeping channel and brand splits
    sales by brand; tax and deposits carry none; the location is dropped."""
    posting = """
        [[posting_rules.rule]]
        type = "web_sale"
        effective_from = 2026-01-01
        dimensions = ["channel", "brand"]
    """
    shop = open_shop(db_url, extra_config=rules(posting))
    shirt, tee, socks = shop.line("SHIRT-M"), shop.line("TEE-L"), shop.line("SOCKS")
    order = shop.order([shirt, tee, socks])
    for item, vendor in zip(order["line_items"], ("Northwind", "Southpaw", ""), strict=True):
        item["vendor"] = vendor
    each = [(x.line_id, 1) for x in (shirt, tee, socks)]
    sent = shop.fulfilment(order, "WH", each, T0 + timedelta(hours=1))
    run(shop, ("orders/create", order), ("fulfillments/create", sent))

    assert order["total_price"] == "102.96"
    assert posted(shop.hub)[f"fulfilment:{sent['id']}:revenue"] == ledger("""
        2026-11-20  web_sale@2026-01-01 v2026.1
        Income:Sales                               -5995  web  -  Northwind
        Income:Sales                               -2495  web  -  Southpaw
        Income:Sales                                -999  web
        Liabilities:Sales-Tax:NY-State-Tax          -380  web
        Liabilities:Sales-Tax:New-York-City-Tax     -427  web
        Liabilities:Customer-Deposits              10296  web
    """)


# -- ledger preview ----------------------------------------------------------------------------

PREVIEW_RULES = rules("""
[[posting_rules.rule]]
type = "web_sale"
effective_from = 2026-01-01
recognise_revenue_at = "order"
dimensions = ["channel"]
accounts = { sales = "Income:Sales:Web" }

[[posting_rules.rule]]
type = "return"
effective_from = 2026-01-01
dimensions = ["channel"]
accounts = { sales = "Income:Returns" }
""")


def _preview_shop(db_url: str, tmp: Path) -> tuple[Shop, list[str]]:
    shop = open_shop(db_url, extra_config=PREVIEW_RULES)
    path = tmp / "retailhub.toml"
    path.write_text(config_text(SECRET) + "\n" + PREVIEW_RULES)
    return shop, ["--db", db_url, "--config", str(path)]


def _preview(base: list[str], file: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = CliRunner().invoke(app, [*base, "ledger", "preview", str(file), *args, "--json"])
    assert done.exception is None or isinstance(done.exception, SystemExit), done.output
    return done.exit_code, json.loads(done.stdout)


def _previewed(report: dict[str, Any]) -> dict[str, Posted]:
    def lines(e: dict[str, Any]) -> tuple[Line, ...]:
        dims = ("channel", "location", "brand")
        found = (
            line(x["account"], x["debit"] - x["credit"], *(x[d] for d in dims)) for x in e["lines"]
        )
        return in_order(found)

    return {
        e["key"]: Posted(date.fromisoformat(e["date"]), e["rule_version"], lines(e))
        for e in report["entries"]
    }


def _capture(tmp: Path, headers: dict[str, str], body: bytes) -> Path:
    """A captured delivery as ``retailhub ingest`` reads it: ``{topic, headers, body}``."""
    path = tmp / "capture.json"
    capture = {"topic": "orders/create", "headers": headers, "body": body.decode()}
    path.write_text(json.dumps(capture))
    return path


def _books(shop: Shop) -> tuple[dict[str, int], int, dict[str, int]]:
    """What a preview must leave alone: the trial balance, the journal, the inbox."""
    return shop.balances(), entry_count(shop.hub), shop.inbox()


def test_previewing_a_capture_shows_what_would_post_and_posts_nothing(db_url: str, tmp_path: Path):
    """A tee ordered on the web (24.95 + 1.00 + 1.12 = 27.07), revenue at order: the capture and
    the revenue exactly as they would post, and the books untouched. An order the hub would
    refuse previews as blocked and exits 1."""
    shop, base = _preview_shop(db_url, tmp_path)
    order = shop.order([shop.line("TEE-L")])
    capture = _capture(tmp_path, *shop.signed("orders/create", order))  # Shopify's own headers
    before = _books(shop)

    code, report = _preview(base, capture)
    assert code == 0 and report["would_post"] and report["blocked"] is None, report
    assert _previewed(report) == {
        f"order:{order['id']}:capture:2707": ledger("""
            2026-11-20  web_sale@2026-01-01 v2026.1
            Assets:Clearing:Shopify-Payments            2707  web
            Liabilities:Customer-Deposits              -2707  web
        """),
        f"order:{order['id']}:revenue-at-order:1:1": ledger("""
            2026-11-20  web_sale@2026-01-01 v2026.1
            Income:Sales:Web                           -2495  web
            Liabilities:Sales-Tax:NY-State-Tax          -100  web
            Liabilities:Sales-Tax:New-York-City-Tax     -112  web
            Liabilities:Customer-Deposits               2707  web
        """),
    }
    assert all(e["debits"] == e["credits"] for e in report["entries"])
    assert _books(shop) == before

    # An order for a hat the item master does not have would be refused: exit 1, no entries.
    blocked = tmp_path / "blocked.json"
    blocked.write_text(json.dumps(shop.order([shop.line("HAT-XL")])))
    code, report = _preview(base, blocked, "--topic", "orders/create")
    assert code == 1 and report["would_post"] is False and report["entries"] == []
    assert report["blocked"]["type"] == "unknown_sku"
    assert _books(shop) == before


def test_previewing_a_bare_payload_and_a_refund_against_the_stored_order(
    db_url: str, tmp_path: Path
):
    """The tee's order is in the books (revenue at order). Its shipment, a bare payload given
    ``--topic``, would post cost only (8.10); a refund of it the next day, previewed against
    the stored order, would reverse revenue into the return rule's account and tax out of the
    jurisdictions, and put the tee back at cost."""
    shop, base = _preview_shop(db_url, tmp_path)
    tee = shop.line("TEE-L")
    order = shop.order([tee])
    run(shop, ("orders/create", order))
    shipped = shop.fulfilment(order, "WH", [(tee.line_id, 1)], T0 + timedelta(hours=1))
    bare = tmp_path / "fulfilment.json"
    bare.write_text(json.dumps(shipped))
    before = _books(shop)

    code, report = _preview(base, bare, "--topic", "fulfillments/create")
    assert code == 0
    assert _previewed(report) == {
        f"fulfilment:{shipped['id']}:cogs": ledger("""
            2026-11-20  web_sale@2026-01-01 v2026.1
            Expenses:COGS                                810  web
            Assets:Inventory                            -810  web
        """),
    }
    assert _books(shop) == before

    run(shop, ("fulfillments/create", shipped))
    back = [(tee.line_id, 1, "return", LOC["WH"])]
    refund = shop.refund(after(order, [shipped]), back, T0 + timedelta(days=1))
    refund_file = tmp_path / "refund.json"
    refund_file.write_text(json.dumps(refund))
    before = _books(shop)

    code, report = _preview(base, refund_file, "--topic", "refunds/create")
    assert code == 0
    assert _previewed(report) == {
        f"refund:{refund['id']}:refund": ledger("""
            2026-11-21  return@2026-01-01 over web_sale@2026-01-01 v2026.1
            Income:Returns                              2495  web
            Liabilities:Sales-Tax:NY-State-Tax           100  web
            Liabilities:Sales-Tax:New-York-City-Tax      112  web
            Assets:Clearing:Shopify-Payments           -2707  web
        """),
        f"refund:{refund['id']}:cogs-reversal": ledger("""
            2026-11-21  return@2026-01-01 over web_sale@2026-01-01 v2026.1
            Assets:Inventory                             810  web
            Expenses:COGS                               -810  web
        """),
    }
    assert _books(shop) == before
