"""Posting rules for stock that moves without a sale: loads, counts and transfers, at cost.

Shirts cost 22.00 and socks 2.25; the shop opened with ten of each at every location on
2026-11-19. Expected entries are ledger text, hand-computed (see ``test_posting_rules``,
whose helpers these are).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from test_posting_rules import ledger, posted, rules

from retail_shop import LOC, T0, Shop, open_shop
from retailhub.adapters.storage.stock_control_repo import SqlStockControl
from retailhub.bootstrap import bootstrap
from retailhub.demo.shopify_payloads import inventory_level_payload
from retailhub.domain.stock_control import Transfer
from retailhub.services.stock_control import count_stock, receive_transfer, ship_transfer

ADJUSTMENTS = """
[[posting_rules.rule]]
type = "inventory_adjustment"
effective_from = 2026-01-01
dimensions = ["location"]
accounts = { inventory_adjustments = "Expenses:Shrinkage", opening_balances = "Equity:Opening-Stock" }
"""
SHIRT_ITEM = 50_000_000  # SHIRT-M's Shopify inventory item (retail_shop.open_shop)


def test_stock_loads_and_counts_follow_the_inventory_adjustment_rule(db_url: str):
    """The opening load of socks at Store 2 (10 × 2.25) credits the rule's opening balances. A
    cycle count there finds 8 (2 × 2.25 short); later Shopify, once it owns inventory, reports
    7 shirts available at Store 1, not 10 (3 × 22.00 short). Both differences go to the rule's
    adjustment account at their location; only the location dimension is kept."""
    shop = open_shop(db_url, extra_config=rules(ADJUSTMENTS))
    counted_at = T0 + timedelta(days=1)
    with shop.hub.uow() as uow:
        store = SqlStockControl(uow.conn)
        policy = shop.hub.settings.rules()
        count_stock(uow, store, policy, "SOCKS", "STORE-2", 8, "damaged", counted_at, "CC-1")
        uow.commit()
    settings = shop.hub.settings
    shopify_owned = replace(settings, ownership={**settings.ownership, "inventory": "shopify"})
    channel = Shop(bootstrap(shopify_owned, db_url, clock=lambda: datetime.now(UTC)), ids=shop.ids)
    level = inventory_level_payload(
        inventory_item_id=SHIRT_ITEM,
        location_id=LOC["STORE-1"],
        available=7,
        updated_at=T0 + timedelta(days=2),
    )
    channel.deliver("inventory_levels/update", level)
    assert channel.process().applied == 1

    book = posted(shop.hub)
    assert book["receipt:opening:SOCKS:STORE-2:receipt:SOCKS:STORE-2"] == ledger("""
        2026-11-19  inventory_adjustment@2026-01-01 v2026.1
        Assets:Inventory                            2250  -  STORE-2
        Equity:Opening-Stock                       -2250  -  STORE-2
    """)
    assert book["count:CC-1:count"] == ledger("""
        2026-11-21  inventory_adjustment@2026-01-01 v2026.1
        Assets:Inventory                            -450  -  STORE-2
        Expenses:Shrinkage                           450  -  STORE-2
    """)
    (reported,) = [key for key in book if key.startswith("inventory_level:")]
    assert book[reported] == ledger("""
        2026-11-22  inventory_adjustment@2026-01-01 v2026.1
        Assets:Inventory                           -6600  -  STORE-1
        Expenses:Shrinkage                          6600  -  STORE-1
    """)


def test_a_transfer_follows_the_transfer_rule(db_url: str):
    """Four shirts leave the warehouse for Store 1 on the 21st; three arrive on the 22nd. In
    transit they are the transfer rule's asset, at the receiving store; the missing one is the
    transfer rule's loss, not the inventory adjustment rule's shrinkage."""
    transfer = """
        [[posting_rules.rule]]
        type = "transfer"
        effective_from = 2026-01-01
        [posting_rules.rule.accounts]
        inventory_in_transit = "Assets:Stock-In-Transit"
        inventory_adjustments = "Expenses:Transit-Losses"
    """
    shop = open_shop(db_url, extra_config=rules(ADJUSTMENTS + transfer))
    shipped_at, arrived_at = T0 + timedelta(days=1), T0 + timedelta(days=2)
    with shop.hub.uow() as uow:
        store, policy = SqlStockControl(uow.conn), shop.hub.settings.rules()
        four = Transfer("TR-1", "SHIRT-M", "WH", "STORE-1", 4, shipped_at)
        ship_transfer(uow, store, policy, four)
        receive_transfer(uow, store, policy, "TR-1", arrived_at, received=3)
        uow.commit()

    book = posted(shop.hub)
    assert book["transfer:TR-1:shipped"] == ledger("""
        2026-11-21  transfer@2026-01-01 v2026.1
        Assets:Stock-In-Transit                     8800  -  STORE-1
        Assets:Inventory                           -8800  -  WH
    """)
    assert book["transfer:TR-1:received"] == ledger("""
        2026-11-22  transfer@2026-01-01 v2026.1
        Assets:Inventory                            6600  -  STORE-1
        Expenses:Transit-Losses                     2200  -  STORE-1
        Assets:Stock-In-Transit                    -8800  -  STORE-1
    """)
