"""Deliveries that wait for what they depend on, and revenue recognised at order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from retail_shop import LOC, T0, Shop, after, open_shop


@pytest.fixture
def shop(db_url: str) -> Shop:
    s = open_shop(db_url)
    yield s
    s.hub.engine.dispose()


def test_a_refund_whose_order_never_comes_becomes_a_missing_dependency_then_recovers(shop):
    """Past the dependency timeout (an hour by default) the waiting refund is an exception for
    IT; when the order finally arrives the refund applies and the exception resolves itself."""
    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    shop.hub.clock = lambda: now
    socks = shop.line("SOCKS")
    order = shop.order([socks])
    refund = shop.refund(order, [(socks.line_id, 1, "cancel", LOC["WH"])], T0)
    shop.deliver("refunds/create", refund)
    assert shop.process().waiting == 1
    assert shop.exceptions() == []

    now += timedelta(hours=2)
    shop.process()
    [exc] = shop.exceptions()
    assert exc["type"] == "missing_dependency" and exc["owner"] == "it"
    assert "refunds/create" in exc["reason"]

    shop.deliver("orders/create", order)
    shop.process()
    assert shop.exceptions() == []
    assert shop.exceptions("resolved")[0]["id"] == exc["id"]
    assert shop.inbox()["applied"] == 2
    assert shop.movement_balances() == {}  # paid and refunded in full
    assert shop.position("SOCKS", "WH") == (10, 0)


def test_revenue_recognised_at_order_and_reversed_by_a_cancellation(db_url):
    shop = open_shop(db_url, recognise_at="order")
    try:
        tee = shop.line("TEE-L", qty=2)
        order = shop.order([tee], shipping=Decimal("6.95"))
        shop.deliver("orders/create", order)
        shop.process()
        books = shop.movement_balances()
        assert books["Income:Sales"] == -2 * 2495
        assert books["Income:Shipping"] == -695
        assert "Expenses:COGS" not in books  # cost moves only when goods leave

        shipped = shop.fulfilment(order, "WH", [(tee.line_id, 1)], T0 + timedelta(hours=1))
        shop.deliver("fulfillments/create", shipped)
        refund = shop.refund(after(order, [shipped]), [(tee.line_id, 1, "cancel", LOC["WH"])],
                             T0 + timedelta(hours=2))
        shop.deliver("refunds/create", refund)
        shop.process()
        books = shop.movement_balances()
        assert books["Income:Sales"] == -2495  # the cancelled unit's revenue is reversed
        assert books["Expenses:COGS"] == 810
        assert shop.position("TEE-L", "WH") == (9, 0)
        assert sum(books.values()) == 0
    finally:
        shop.hub.engine.dispose()
