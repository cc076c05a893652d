"""Revenue at pickup/delivery: a shipment's revenue waits for the carrier's "delivered".

A channel (or a sale rule) with ``recognise_revenue_at = "delivery"``: the shirt ships on
20 November — stock and cost leave the warehouse, the customer's money stays a deposit — and
is delivered on 23 November, when the revenue and its taxes are recognised. A pickup order
is recognised when handed over. A parcel refused before delivery recognises and reverses its
revenue on the refund's day, so the line's counters (and every later refund) stay right.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from retail_shop import STATE, T0, Shop, after, open_shop
from retailhub.adapters.storage.tables import journal_entries, journal_lines

SHIRT = 5995  # 59.95; NY State 4% = 2.40, NYC 4.5% = 2.70 (both rounded half-even per line)


def _delivered(fulfilment: dict[str, Any], days: int) -> dict[str, Any]:
    update = dict(fulfilment)
    update["shipment_status"] = "delivered"
    update["updated_at"] = (T0 + timedelta(days=days)).isoformat()
    return update


def _entries(shop: Shop) -> dict[str, tuple[str, dict[str, int]]]:
    """key -> (date, {account: signed amount})."""
    out: dict[str, tuple[str, dict[str, int]]] = {}
    with shop.hub.engine.connect() as conn:
        rows = conn.execute(
            select(journal_entries.c.key, journal_entries.c.entry_date, journal_lines)
            .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
        )
        for r in rows:
            if r.key.startswith("receipt:"):
                continue
            _, lines = out.setdefault(r.key, (r.entry_date.isoformat(), {}))
            lines[r.account] = lines.get(r.account, 0) + r.amount
    return out


def test_a_shipment_is_recognised_when_delivered(db_url: str) -> None:
    shop = open_shop(db_url, recognise_at="delivery")
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shop.deliver("orders/create", order)
    shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0 + timedelta(hours=2))
    shop.deliver("fulfillments/create", shipped)
    shop.process()
    fid = shipped["id"]
    entries = _entries(shop)
    assert f"fulfilment:{fid}:cogs" in entries  # the goods left the shelf
    assert not any(k.endswith(":revenue") for k in entries)  # but nothing is earned yet
    assert shop.balances()["Liabilities:Customer-Deposits"] == -(SHIRT + 240 + 270)

    update = _delivered(shipped, days=3)
    shop.deliver("fulfillments/update", update)
    shop.deliver("fulfillments/update", update)  # the carrier's status, sent twice
    shop.process()
    day, lines = _entries(shop)[f"delivery:{fid}:revenue"]
    assert day == "2026-11-23"
    assert lines == {
        "Liabilities:Customer-Deposits": SHIRT + 240 + 270,
        "Income:Sales": -SHIRT,
        "Liabilities:Sales-Tax:NY-State-Tax": -240,
        "Liabilities:Sales-Tax:New-York-City-Tax": -270,
    }
    assert "Liabilities:Customer-Deposits" not in shop.balances()  # all earned, once


def test_a_pickup_is_recognised_at_the_handover(db_url: str) -> None:
    shop = open_shop(db_url, recognise_at="delivery")
    shirt = shop.line("SHIRT-M", taxes=(STATE,))
    order = shop.order([shirt], pickup_location_name="Store One")
    shop.deliver("orders/create", order)
    handed = shop.fulfilment(order, "STORE-1", [(shirt.line_id, 1)], T0 + timedelta(days=1))
    shop.deliver("fulfillments/create", handed)
    shop.process()
    day, lines = _entries(shop)[f"fulfilment:{handed['id']}:revenue"]
    assert day == "2026-11-21"
    assert lines["Income:Sales"] == -SHIRT and lines["Liabilities:Sales-Tax:NY-State-Tax"] == -240


def test_a_parcel_refused_before_delivery_nets_to_nothing(db_url: str) -> None:
    shop = open_shop(db_url, recognise_at="delivery")
    shirt = shop.line("SHIRT-M")
    order = shop.order([shirt])
    shop.deliver("orders/create", order)
    shipped = shop.fulfilment(order, "WH", [(shirt.line_id, 1)], T0 + timedelta(hours=2))
    shop.deliver("fulfillments/create", shipped)
    shop.process()
    refund = shop.refund(
        after(order, [shipped]), [(shirt.line_id, 1, "return", 70001)], T0 + timedelta(days=2)
    )
    shop.deliver("refunds/create", refund)
    shop.deliver("fulfillments/update", _delivered(shipped, days=4))  # a late, stale status
    shop.process()
    entries = _entries(shop)
    rid = refund["id"]
    _, recognised = entries[f"refund:{rid}:revenue-before-return"]
    _, reversed_ = entries[f"refund:{rid}:refund"]
    assert recognised["Income:Sales"] == -SHIRT and reversed_["Income:Sales"] == SHIRT
    assert f"delivery:{shipped['id']}:revenue" not in entries  # nothing left to recognise
    balances = shop.balances()
    assert "Income:Sales" not in balances and "Liabilities:Customer-Deposits" not in balances
