"""Stock the stores move and count themselves: case packs, transfers, cycle counts.

* A case of 12 socks is received and the web shop sells them one at a time.
* Four shirts go from the warehouse to Store 1: they leave the warehouse's shelf at once, sit
  in transit at the store (not sellable until they arrive), and three arrive: the fourth is
  shrink in transit, at cost.
* A cycle count at Store 2 finds two pairs of socks fewer than the books say: on hand becomes
  the count and the difference is booked with its reason; inventory accuracy is the share of
  counts that found the books right.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from retail_shop import SECRET, T0, open_shop
from retailhub.adapters.storage import queries
from retailhub.adapters.storage.stock_control_repo import SqlStockControl
from retailhub.demo.retailer import config_text
from retailhub.domain.availability import DaysOfCover, SafetyStock
from retailhub.domain.catalog import Item, UnitConversion
from retailhub.domain.inventory import sale
from retailhub.domain.money import Money
from retailhub.domain.stock_control import inventory_accuracy
from retailhub.entrypoints.cli.main import app
from retailhub.services.stock_control import count_stock

SHIRT_COST, SOCKS_COST = 2200, 225


def test_a_case_pack_received_is_sold_in_eaches(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url, stock=0)
    with shop.hub.uow() as uow:  # socks come in cases of 12
        uow.catalog.save_items([(Item("SOCKS", "Socks", Money(SOCKS_COST, "USD"),
                                      conversions=(UnitConversion("CASE", 12),)), {})], "shopify")
        uow.commit()
    config = tmp_path / "retailhub.toml"
    config.write_text(config_text(SECRET))
    run = CliRunner().invoke(app, ["--db", db_url, "--config", str(config), "inventory",
                                   "receive", "SOCKS", "WH", "1", "--uom", "CASE", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["on_hand"] == 12
    socks = shop.line("SOCKS", qty=3)
    order = shop.order([socks])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create",
                 shop.fulfilment(order, "WH", [(socks.line_id, 3)], T0 + timedelta(hours=1)))
    shop.process()
    assert shop.position("SOCKS", "WH") == (9, 0)
    books = shop.balances()
    assert books["Assets:Inventory"] == 9 * SOCKS_COST  # valued per each


def test_a_transfer_is_in_transit_until_received(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url)
    config = tmp_path / "retailhub.toml"
    config.write_text(config_text(SECRET))
    cli, base = CliRunner(), ["--db", db_url, "--config", str(config)]
    pos_before = shop.atp("SHIRT-M")["pos"]

    shipped = cli.invoke(app, [*base, "inventory", "transfer", "SHIRT-M", "WH", "STORE-1", "4",
                               "--reference", "TR-1", "--json"])
    assert shipped.exit_code == 0, shipped.output
    with shop.hub.uow() as uow:
        wh, store = (uow.inventory.position("SHIRT-M", loc) for loc in ("WH", "STORE-1"))
    assert (wh.on_hand, store.on_hand, store.in_transit) == (6, 10, 4)
    assert shop.atp("SHIRT-M")["pos"] == pos_before  # not sellable in store until it arrives
    moving = shop.movement_balances()
    assert moving["Assets:Inventory-In-Transit"] == 4 * SHIRT_COST
    assert moving["Assets:Inventory"] == -4 * SHIRT_COST

    again = cli.invoke(app, [*base, "inventory", "transfer", "SHIRT-M", "WH", "STORE-1", "4",
                             "--reference", "TR-1"])
    assert again.exit_code == 1  # one reference, one transfer

    received = cli.invoke(app, [*base, "inventory", "receive-transfer", "TR-1", "--quantity", "3",
                                "--json"])
    assert json.loads(received.stdout)["shrink"] == 1
    with shop.hub.uow() as uow:
        store = uow.inventory.position("SHIRT-M", "STORE-1")
    assert (store.on_hand, store.in_transit) == (13, 0)
    assert shop.atp("SHIRT-M")["pos"] == pos_before + 3
    moved = shop.movement_balances()
    assert moved.get("Assets:Inventory-In-Transit", 0) == 0
    assert moved["Expenses:Inventory-Adjustments"] == SHIRT_COST  # the one that never arrived
    assert moved["Assets:Inventory"] == -SHIRT_COST
    twice = cli.invoke(app, [*base, "inventory", "receive-transfer", "TR-1"])
    assert twice.exit_code == 1 and "already received" in twice.output


def test_a_cycle_count_finds_shrink(db_url: str) -> None:
    shop = open_shop(db_url)
    with shop.hub.uow() as uow:
        store = SqlStockControl(uow.conn)
        rules = shop.hub.settings.rules()
        short = count_stock(uow, store, rules, "SOCKS", "STORE-2", 8, "shrink", T0, "C-1")
        right = count_stock(uow, store, rules, "TEE-L", "STORE-2", 10, "cycle count", T0, "C-2")
        uow.commit()
        counts = store.counts()
    assert (short.expected, short.difference) == (10, -2)
    assert right.difference == 0
    assert shop.position("SOCKS", "STORE-2") == (8, 0)
    moved = shop.movement_balances()
    assert moved["Expenses:Inventory-Adjustments"] == 2 * SOCKS_COST
    assert moved["Assets:Inventory"] == -2 * SOCKS_COST
    assert inventory_accuracy(counts) == 0.5  # one of two counts found the books right


def test_safety_stock_by_days_of_cover_holds_back_what_recent_sales_need(db_url: str) -> None:
    """Store 1 keeps 7 days of cover of socks for the POS: 14 sold there in the last 28
    days is half a pair a day, so 4 (3.5 rounded up) are held back from the store's ATP."""
    shop = open_shop(db_url, stock=20)
    rules = shop.hub.settings.rules()
    with shop.hub.uow() as uow:
        recent = shop.hub.clock() - timedelta(days=3)
        uow.inventory.record([sale("SOCKS", "STORE-1", 14, recent, "pos:sales")], None)
        uow.commit()
    safety = SafetyStock(location_defaults={"STORE-1": DaysOfCover(7)})
    with shop.hub.uow() as uow:
        plain = queries.atp(uow.conn, "SOCKS", rules.availability)
        covered = queries.atp(uow.conn, "SOCKS", rules.availability, safety, 28)
    assert plain["pos"] == (20 - 14) + 20
    assert covered["pos"] == (20 - 14 - 4) + 20
    assert covered["web"] == plain["web"] - 4  # the store feeds the web channel too


def test_an_item_sold_only_in_stores_shows_no_stock_on_the_web(
    db_url: str, tmp_path: Path
) -> None:
    shop = open_shop(db_url)
    items = tmp_path / "items.csv"
    items.write_text("sku,title,unit_cost,channels\nSOCKS,Socks,2.25,pos\n")
    config = tmp_path / "retailhub.toml"
    config.write_text(config_text(SECRET))
    run = CliRunner().invoke(app, ["--db", db_url, "--config", str(config), "items", "import",
                                   str(items)])
    assert run.exit_code == 0, run.output
    atp = shop.atp("SOCKS")
    assert atp["web"] == 0 and atp["pos"] == 20  # a store exclusive
    with shop.hub.uow() as uow:
        item = uow.catalog.item("SOCKS")
    assert item is not None and item.sold_on("pos") and not item.sold_on("web")
