"""Retail stories from the seed, end to end: signed deliveries in, books and stock out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from retail_shop import LOC, T0, DiscountSpec, Shop, after, open_shop

CLEARING = "Assets:Clearing:Shopify-Payments"
STATE_TAX = "Liabilities:Sales-Tax:NY-State-Tax"
CITY_TAX = "Liabilities:Sales-Tax:New-York-City-Tax"


@pytest.fixture
def shop(db_url: str) -> Shop:
    s = open_shop(db_url)
    yield s
    s.hub.engine.dispose()


def test_online_order_picked_up_in_store_and_one_item_returned_at_another_store(shop: Shop):
    """The seed's story: buy online with a 10% code, pick up Downtown, return the shirt at the
    Mall, refunded to the card. Revenue, tax and COGS of the shirt are reversed exactly as they
    were recognised (same discount share, same tax lines, same cost); the chino stays sold."""
    shirt, chino = shop.line("SHIRT-M"), shop.line("CHINO-32")
    order = shop.order([shirt, chino], discount=DiscountSpec("WELCOME10", Decimal(10)),
                       pickup_location_name="Downtown")
    shop.deliver("orders/create", order)
    pickup = shop.fulfilment(order, "STORE-1", [(shirt.line_id, 1), (chino.line_id, 1)],
                             T0 + timedelta(hours=3))
    shop.deliver("fulfillments/create", pickup)
    refund = shop.refund(after(order, [pickup]), [(shirt.line_id, 1, "return", LOC["STORE-2"])],
                         T0 + timedelta(hours=7))
    shop.deliver("refunds/create", refund)
    stats = shop.process()
    assert (stats.applied, stats.failed, stats.waiting) == (3, 0, 0)

    # 59.95 + 79.00 less 13.90 discount (6.00 on the shirt, 7.90 on the chino), taxed 4% + 4.5%:
    # shirt 53.95 + 2.16 + 2.43 = 58.54 refunded; chino 71.10 + 2.84 + 3.20 = 77.14 kept.
    assert order["total_price"] == "135.68"
    assert shop.movement_balances() == {
        CLEARING: 7714,
        "Income:Sales": -7900,
        "Income:Discounts": 790,
        STATE_TAX: -284,
        CITY_TAX: -320,
        "Expenses:COGS": 3050,
        "Assets:Inventory": -3050,
    }
    assert shop.position("SHIRT-M", "STORE-1") == (9, 0)  # picked up here
    assert shop.position("SHIRT-M", "STORE-2") == (11, 0)  # came back here
    assert shop.position("CHINO-32", "STORE-1") == (9, 0)
    assert shop.position("SHIRT-M", "WH") == (10, 0)  # the web channel's default: untouched
    assert shop.exceptions() == []


def test_partial_shipment_recognises_revenue_as_units_leave(shop: Shop):
    tee = shop.line("TEE-L", qty=3)
    order = shop.order([tee], shipping=Decimal("6.95"))
    shop.deliver("orders/create", order)
    shop.process()
    assert shop.position("TEE-L", "WH") == (10, 3)  # all three reserved

    first = shop.fulfilment(order, "WH", [(tee.line_id, 1)], T0 + timedelta(hours=1))
    shop.deliver("fulfillments/create", first)
    shop.process()
    assert shop.position("TEE-L", "WH") == (9, 2)
    part = shop.movement_balances()
    assert 0 < -part["Income:Sales"] < 7485  # one unit of three
    assert part["Income:Shipping"] == -695  # shipping recognised with the first parcel

    second = shop.fulfilment(order, "WH", [(tee.line_id, 2)], T0 + timedelta(hours=5))
    shop.deliver("fulfillments/create", second)
    shop.process()
    assert shop.position("TEE-L", "WH") == (7, 0)
    books = shop.movement_balances()
    assert books["Income:Sales"] == -3 * 2495
    assert "Liabilities:Customer-Deposits" not in books  # fully recognised, nothing left over
    assert books["Expenses:COGS"] == 3 * 810


def test_cancellation_releases_stock_and_returns_the_deposit(shop: Shop):
    tee, socks = shop.line("TEE-L", qty=2), shop.line("SOCKS")
    order = shop.order([tee, socks], shipping=Decimal("6.95"))
    shop.deliver("orders/create", order)
    shop.process()
    assert shop.position("TEE-L", "WH") == (10, 2)

    at = T0 + timedelta(minutes=30)
    refund = shop.refund(order, [(tee.line_id, 2, "cancel", LOC["WH"]),
                                 (socks.line_id, 1, "cancel", LOC["WH"])], at,
                         shipping_refund=Decimal("6.95"))
    cancelled = {**order, "cancelled_at": at.isoformat(), "updated_at": at.isoformat(),
                 "cancel_reason": "customer", "financial_status": "refunded",
                 "refunds": [refund]}
    shop.deliver("orders/cancelled", cancelled)
    shop.deliver("refunds/create", refund)  # Shopify also sends the refund on its own
    shop.process()
    assert shop.position("TEE-L", "WH") == (10, 0)
    assert shop.position("SOCKS", "WH") == (10, 0)
    assert shop.movement_balances() == {}  # money in, money out, nothing recognised
    assert shop.exceptions() == []


def test_multi_rate_tax_with_order_level_discount_posts_each_jurisdiction(shop: Shop):
    lines = [shop.line("SHIRT-M", 2), shop.line("TEE-L", 3), shop.line("SOCKS", 1)]
    order = shop.order(lines, discount=DiscountSpec("FALL15", Decimal(15)),
                       shipping=Decimal("6.95"))
    shop.deliver("orders/create", order)
    shop.deliver("fulfillments/create", shop.fulfilment(
        order, "WH", [(s.line_id, s.quantity) for s in lines], T0 + timedelta(hours=2)))
    shop.process()
    books = shop.movement_balances()
    charged: dict[str, int] = {}
    for li in [*order["line_items"], *order["shipping_lines"]]:
        for t in li["tax_lines"]:
            charged[t["title"]] = charged.get(t["title"], 0) + int(Decimal(t["price"]) * 100)
    assert books[STATE_TAX] == -charged["NY State Tax"]
    assert books[CITY_TAX] == -charged["New York City Tax"]
    assert books["Income:Discounts"] == int(Decimal(order["total_discounts"]) * 100)
    assert books[CLEARING] == int(Decimal(order["total_price"]) * 100)
    assert sum(books.values()) == 0


def test_refund_that_arrives_before_its_order_waits_then_applies(shop: Shop):
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0 + timedelta(hours=1))
    refund = shop.refund(after(order, [shipped]), [(shirt.line_id, 1, "return", LOC["WH"])],
                         T0 + timedelta(hours=2))
    shop.deliver("refunds/create", refund)
    shop.deliver("fulfillments/create", shipped)
    assert shop.process().waiting == 2
    assert shop.inbox()["waiting"] == 2
    shop.deliver("orders/create", order)
    shop.process()
    assert shop.inbox().get("waiting", 0) == 0
    assert shop.position("SHIRT-M", "WH") == (10, 0)
    assert shop.movement_balances() == {}  # sold and fully refunded


def test_a_newer_update_is_never_overwritten_by_an_older_one(shop: Shop):
    tee = shop.line("TEE-L")
    order = shop.order([tee], financial_status="pending")
    later = T0 + timedelta(hours=1)
    paid = {**order, "financial_status": "paid", "updated_at": later.isoformat()}
    shop.deliver("orders/updated", paid)
    shop.deliver("orders/create", order)  # older snapshot arrives last
    shop.process()
    assert shop.movement_balances()[CLEARING] == int(Decimal(order["total_price"]) * 100)


def test_a_redelivered_event_is_applied_once(shop: Shop):
    order = shop.order([shop.line("SOCKS")])
    first = shop.deliver("orders/create", order, event_id="evt-1")
    again = shop.deliver("orders/create", order, event_id="evt-1")
    shop.process()
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert shop.inbox()["duplicates"] == 1
    assert shop.position("SOCKS", "WH") == (10, 1)
