"""Gift cards across channels, and an exchange at the till.

A customer buys a 50.00 gift card on the web shop; it is a liability, not revenue. Her friend
spends 30.00 of it on a shirt in Store 1 and pays the rest by card. The redemption reduces the
liability in whichever channel it happens, and with a configured breakage rate of 10% the
proportional share of the value expected never to be redeemed (30.00 × 0.1 / 0.9 = 3.33) is
recognised as income at the same time.

Then a customer brings the shirt back for chinos and pays the difference: the exchange is a
return of the shirt (restocked, revenue and tax reversed) and a new sale of the chinos linked to
it, and the store credit passed between the two nets to zero.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from retail_shop import T0, Shop, open_shop
from retailhub.adapters.files.pos_feed import read_pos_feed
from retailhub.adapters.storage.pos_state import SqlPosFeedState
from retailhub.demo.shopify_payloads import LineSpec
from retailhub.services.pos_import import import_pos_batch


def upload(shop: Shop, tmp: Path, name: str, records: list[dict[str, Any]]) -> None:
    path = tmp / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with shop.hub.uow() as uow:
        import_pos_batch(uow, shop.hub.sources["pos"], SqlPosFeedState(uow.conn),
                         read_pos_feed(path), shop.hub.clock(), name)
        uow.commit()
    stats = shop.process()
    assert stats.failed == 0, shop.exceptions()


def till(seq: int, kind: str, at: Any, receipt: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "store": "STORE-1", "register": "T1", "seq": seq,
            "timestamp": at.isoformat(), "currency": "USD", "receipt": receipt, **fields}


def test_a_gift_card_sold_online_is_redeemed_in_store(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url, extra_config='[gift_cards]\nbreakage_rate = "0.10"\n')
    card = LineSpec(13_999_000_001, 0, "", "Gift card 50.00", Decimal("50.00"), 1,
                    requires_shipping=False, gift_card=True)
    order = shop.order([card])
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create",
                 shop.fulfilment(order, "WH", [(card.line_id, 1)], T0 + timedelta(minutes=1)))
    shop.process()
    issued = shop.movement_balances()
    assert issued["Liabilities:Gift-Cards"] == -5000  # a liability …
    assert "Income:Sales" not in issued  # … not revenue

    upload(shop, tmp_path, "store-1.jsonl", [till(1, "sale", T0 + timedelta(days=3), "S-1",
        lines=[{"line": "1", "sku": "SHIRT-M", "quantity": 1, "unit_price": "59.95"}],
        tenders=[{"method": "gift_card", "amount": "30.00", "gift_card": "GC-0001"},
                 {"method": "card", "amount": "29.95", "transaction_id": "pi_store_1"}])])

    books = shop.movement_balances()
    breakage = 333  # 30.00 × 0.10 / 0.90, half-even
    assert books["Liabilities:Gift-Cards"] == -5000 + 3000 + breakage
    assert books["Income:Gift-Card-Breakage"] == -breakage
    assert books["Income:Sales"] == -5995  # the shirt, sold in store
    assert sum(books.values()) == 0


def test_an_exchange_is_a_return_and_a_linked_sale(db_url: str, tmp_path: Path) -> None:
    shop = open_shop(db_url)
    sold_at = T0 + timedelta(hours=1)
    upload(shop, tmp_path, "sale.jsonl", [till(1, "sale", sold_at, "S-10",
        lines=[{"line": "1", "sku": "SHIRT-M", "quantity": 1, "unit_price": "59.95"}],
        tenders=[{"method": "cash", "amount": "59.95"}])])
    shirts_after_sale = shop.position("SHIRT-M", "STORE-1")[0]
    upload(shop, tmp_path, "exchange.jsonl", [till(2, "exchange", sold_at + timedelta(days=1),
        "S-11", original="S-10",
        returned=[{"line": "1", "quantity": 1, "amount": "59.95", "disposition": "restock"}],
        sold=[{"line": "1", "sku": "CHINO-32", "quantity": 1, "unit_price": "79.00"}],
        tenders=[{"method": "card", "amount": "19.05", "transaction_id": "pi_ex_1"}])])

    assert shop.position("SHIRT-M", "STORE-1")[0] == shirts_after_sale + 1  # back on the shelf
    books = shop.movement_balances()
    assert books.get("Assets:Clearing:Exchange", 0) == 0  # the credit passed between them nets
    assert books["Income:Sales"] == -7900  # the shirt's revenue reversed, the chinos' recognised
    assert books.get("Income:Refund-Adjustments", 0) == 0
    assert sum(books.values()) == 0
    with shop.hub.uow() as uow:
        new_sale = uow.orders.get("pos", "STORE-1:S-11")
    assert new_sale is not None and new_sale.order.exchanged_from is not None
