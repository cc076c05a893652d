"""The demo builders produce bodies Shopify could have sent: totals add up, and they map."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from retailhub.adapters.connectors.shopify import translate
from retailhub.demo.shopify_payloads import (
    DiscountSpec,
    LineSpec,
    TaxRate,
    fulfillment_payload,
    inventory_level_payload,
    order_payload,
    refund_payload,
)
from retailhub.domain.events import OrderReported, RefundReported
from retailhub.domain.orders import DeliveryMethod, Order

T0 = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)
STATE = TaxRate("IL State Tax", Decimal("0.0625"))
COUNTY = TaxRate("Sangamon County Tax", Decimal("0.0175"))


def lines() -> list[LineSpec]:
    return [
        LineSpec(11, 101, "TEE-BLK-M", "Tee", Decimal("25.00"), 2, (STATE, COUNTY)),
        LineSpec(12, 102, "CAP-RED-OS", "Cap", Decimal("19.99"), 1, (STATE, COUNTY)),
        LineSpec(13, 103, "MUG-WHT-12", "Mug", Decimal("12.50"), 3, (STATE, COUNTY)),
    ]


def mapped(topic: str, payload: dict) -> OrderReported | RefundReported:
    event = translate(topic, orjson.dumps(payload))
    assert isinstance(event, OrderReported | RefundReported)
    return event


def balance(order: Order) -> int:
    """What the lines, shipping, discounts and (added) tax say the customer owes."""
    goods = sum(li.gross - li.discount for li in order.lines)
    shipping = sum(s.price - s.discount for s in order.shipping_lines)
    tax = sum(li.tax for li in order.lines) + sum(s.tax for s in order.shipping_lines)
    return goods + shipping + (0 if order.taxes_included else tax)


def test_a_discounted_taxed_web_order_adds_up_to_its_total():
    payload = order_payload(
        order_id=1, number=1001, created_at=T0, updated_at=T0, currency="USD", lines=lines(),
        shipping=Decimal("7.95"), shipping_tax_rates=(STATE,),
        discount=DiscountSpec("Spring sale", Decimal("10")), customer_id=5, email="a@example.com",
    )  # fmt: skip
    order = mapped("orders/create", payload).order  # type: ignore[union-attr]
    # 10 % of 107.49 = 10.75, allocated 5.00 / 2.00 / 3.75 by line subtotal.
    assert [li.discount for li in order.lines] == [500, 200, 375]
    assert payload["total_discounts"] == "10.75"
    # Tax on 45.00, 17.99, 33.75 at 6.25 % + 1.75 %: 6.04 + 1.69, shipping 0.50.
    assert order.total_price == balance(order) == 11292
    assert payload["total_line_items_price"] == "107.49"
    assert payload["subtotal_price"] == "96.74"


def test_pickup_and_pos_orders_are_recognised():
    pickup = order_payload(
        order_id=2, number=1002, created_at=T0, updated_at=T0, currency="USD", lines=lines()[:1],
        shipping=Decimal("0"), pickup_location_name="Springfield Store",
    )  # fmt: skip
    assert mapped("orders/create", pickup).order.delivery is DeliveryMethod.PICKUP  # type: ignore[union-attr]
    pos = order_payload(
        order_id=3, number=1003, created_at=T0, updated_at=T0, currency="USD", lines=lines()[:1],
        source_name="pos", location_id=77, taxes_included=True, gateway="cash",
    )  # fmt: skip
    order = mapped("orders/create", pos).order  # type: ignore[union-attr]
    assert (order.delivery, order.channel, order.total_price) == (
        DeliveryMethod.IN_STORE,
        "pos",
        5000,
    )


def test_a_refund_of_one_line_cancelled_and_returned_refunds_its_exact_share():
    order = order_payload(
        order_id=1, number=1001, created_at=T0, updated_at=T0, currency="USD", lines=lines(),
        shipping=Decimal("7.95"), shipping_tax_rates=(STATE,),
    )  # fmt: skip
    shipped = fulfillment_payload(fulfillment_id=9, order=order, location_id=70, lines=[(13, 2)],
                                  created_at=T0)  # fmt: skip
    refund = refund_payload(
        refund_id=50, order=order, created_at=T0,
        lines=[(13, 1, "cancel", 70), (13, 2, "return", 71)], shipping_refund=Decimal("7.95"),
    )  # fmt: skip
    r = mapped("refunds/create", refund).refund  # type: ignore[union-attr]
    mug = mapped("orders/create", order).order.line("13")  # type: ignore[union-attr]
    assert mug is not None
    assert sum(rl.subtotal for rl in r.lines) == mug.gross - mug.discount
    assert sum(rl.tax for rl in r.lines) == mug.tax
    assert (r.shipping, r.shipping_tax) == (795, 50)
    assert r.refunded_to_customer == mug.gross + mug.tax + 795 + 50
    updated = order_payload(
        order_id=1, number=1001, created_at=T0, updated_at=T0, currency="USD", lines=lines(),
        shipping=Decimal("7.95"), shipping_tax_rates=(STATE,), fulfillments=[shipped],
        refunds=[refund], financial_status="partially_refunded",
    )  # fmt: skip
    event = mapped("orders/updated", updated)
    assert len(event.fulfilments) == 1 and len(event.refunds) == 1  # type: ignore[union-attr]
    total = Decimal(updated["total_price"]) - Decimal(updated["current_total_price"])
    assert total == Decimal(r.refunded_to_customer) / 100


def test_inventory_level_payload_maps():
    payload = inventory_level_payload(
        inventory_item_id=4, location_id=7, available=3, updated_at=T0
    )
    assert translate("inventory_levels/update", orjson.dumps(payload)).available == 3  # type: ignore[union-attr]


money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
rates = st.lists(
    st.builds(TaxRate, st.sampled_from(["State", "County", "City"]),
              st.decimals(min_value=Decimal("0"), max_value=Decimal("0.25"), places=4)),
    max_size=3,
)  # fmt: skip


@st.composite
def line_specs(draw: st.DrawFn) -> list[LineSpec]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [
        LineSpec(100 + i, 200 + i, f"SKU-{i}", f"Item {i}", draw(money),
                 draw(st.integers(min_value=1, max_value=12)), tuple(draw(rates)),
                 requires_shipping=draw(st.booleans()))
        for i in range(count)
    ]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    specs=line_specs(),
    shipping=st.none() | money,
    ship_rates=rates,
    percentage=st.none() | st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=1),
    taxes_included=st.booleans(),
)
def test_builder_totals_are_consistent_and_always_map(
    specs, shipping, ship_rates, percentage, taxes_included
):
    discount = None if percentage is None else DiscountSpec("Promo", percentage)
    payload = order_payload(
        order_id=1, number=1001, created_at=T0, updated_at=T0, currency="USD", lines=specs,
        shipping=shipping, shipping_tax_rates=tuple(ship_rates) if shipping else (),
        discount=discount, taxes_included=taxes_included,
    )  # fmt: skip
    order = mapped("orders/create", payload).order  # type: ignore[union-attr]
    assert order.total_price == balance(order)
    discounts = sum(li.discount for li in order.lines)
    assert discounts == round(Decimal(payload["total_discounts"]) * 100)
    tax = sum(li.tax for li in order.lines) + sum(s.tax for s in order.shipping_lines)
    assert tax == round(Decimal(payload["total_tax"]) * 100)
    assert all(0 <= li.discount <= li.gross for li in order.lines)
    refund = refund_payload(
        refund_id=9, order=payload, created_at=T0,
        lines=[(s.line_id, s.quantity, "cancel", 1) for s in specs],
    )  # fmt: skip
    r = mapped("refunds/create", refund).refund  # type: ignore[union-attr]
    assert sum(rl.subtotal for rl in r.lines) == sum(li.gross - li.discount for li in order.lines)
