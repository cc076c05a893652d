"""What the accounting-target tests share: a shop with journals to post, and the push."""

from __future__ import annotations

from typing import Any

from retail_shop import T0, Shop, open_shop
from retailhub.services.erp_posting import PushSummary, push_entries


def sold_and_shipped(db_url: str, orders: int = 1) -> Shop:
    """The shop with ``orders`` shirts sold online and shipped from the warehouse."""
    shop = open_shop(db_url)
    for _ in range(orders):
        shirt = shop.line("SHIRT-M")
        order = shop.order([shirt])
        shop.deliver("orders/create", order)
        shop.deliver("fulfillments/create", shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0))
    shop.process()
    return shop


def push(shop: Shop, target: Any, **kw: Any) -> PushSummary:
    """``retailhub erp push`` as a function: the shop's currency is USD."""
    return push_entries(shop.hub.uow, target, "USD", shop.hub.clock, **kw)
