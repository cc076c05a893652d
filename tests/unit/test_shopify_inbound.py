"""Shopify webhook bodies become canonical events with exact minor-unit amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from retailhub.adapters.connectors.shopify import PayloadError, UnknownTopic, translate
from retailhub.domain.customers import ChannelIdentity
from retailhub.domain.events import (
    FulfilmentReported,
    InventoryLevelReported,
    OrderReported,
    RefundReported,
)
from retailhub.domain.orders import DeliveryMethod, ExternalRef, FulfilmentKind, PaymentStatus
from retailhub.domain.returns import Disposition, RefundMethod

FIXTURES = Path(__file__).parents[1] / "fixtures" / "shopify"
TOPICS = {
    "orders-create-web": "orders/create",
    "orders-create-pos": "orders/create",
    "orders-create-pickup": "orders/create",
    "orders-updated-paid": "orders/updated",
    "orders-cancelled": "orders/cancelled",
    "fulfillments-create-partial": "fulfillments/create",
    "refunds-create": "refunds/create",
    "inventory_levels-update": "inventory_levels/update",
}
STORE = ExternalRef("shopify", "71234567890")
WAREHOUSE = ExternalRef("shopify", "71234567891")


def body(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def order_of(name: str) -> OrderReported:
    event = translate(TOPICS[name], body(name))
    assert isinstance(event, OrderReported)
    return event


@pytest.mark.parametrize("name", sorted(TOPICS))
def test_every_fixture_maps(name):
    translate(TOPICS[name], body(name))


def test_web_order_lines_carry_discounts_and_two_tax_jurisdictions_in_cents():
    order = order_of("orders-create-web").order
    assert (order.channel, order.order_id, order.name) == ("web", "5600000000001", "#1001")
    assert (order.currency, order.presentment_currency) == ("USD", "CAD")  # books in shop money
    assert order.payment_status is PaymentStatus.AUTHORIZED
    assert order.gateway == "shopify_payments"
    assert order.created_at == datetime(2025, 3, 14, 15, 2, tzinfo=UTC)
    tee, cap, mug = order.lines
    assert (tee.sku, tee.quantity, tee.unit_price) == ("TEE-BLK-M", 2, 2500)
    assert tee.variant == ExternalRef("shopify", "44000000001")
    # 10 % of (107.49 - 5.00) = 10.25, spread 4.50 / 2.00 / 3.75 by largest remainder.
    assert [(d.title, d.amount) for d in tee.discounts] == [
        ("Tee bundle: $5 off 2", 500),
        ("SPRING10", 450),  # a discount code has no title: its code names it
    ]
    assert [d.amount for d in cap.discounts] == [200]
    assert [d.amount for d in mug.discounts] == [375]
    assert [(t.jurisdiction, t.rate, t.amount) for t in tee.tax_lines] == [
        ("IL State Tax", Decimal("0.0625"), 253),
        ("Sangamon County Tax", Decimal("0.0175"), 71),
    ]
    assert [t.amount for t in cap.tax_lines] == [112, 31]
    assert [t.amount for t in mug.tax_lines] == [211, 59]
    (shipping,) = order.shipping_lines
    assert (shipping.title, shipping.price, shipping.tax) == ("Standard", 795, 50)
    assert order.total_price == 10806
    lines = sum(li.gross - li.discount + li.tax for li in order.lines)
    assert lines + shipping.price + shipping.tax == order.total_price


def test_web_order_customer_and_delivery():
    order = order_of("orders-create-web").order
    assert order.customer is not None
    assert order.customer.identity == ChannelIdentity("shopify", "7300000000001")
    assert order.customer.email == "customer1001@example.com"
    assert order.customer.name == "Demo Customer 1"
    assert order.delivery is DeliveryMethod.SHIP
    assert order.location is None


def test_pos_sale_is_an_in_store_sale_at_its_location_with_tax_included():
    order = order_of("orders-create-pos").order
    assert order.channel == "pos"
    assert order.location == STORE
    assert order.delivery is DeliveryMethod.IN_STORE
    assert order.taxes_included
    assert order.gateway == "cash"
    # 25.00 + 2 x 12.50 = 50.00 tax-inclusive; 6.25 % inside 25.00 is 1.47 each line.
    assert order.total_price == 5000
    assert [li.tax for li in order.lines] == [147, 147]


def test_local_pickup_is_detected_from_a_shopify_pickup_line_without_shipping_address():
    order = order_of("orders-create-pickup").order
    assert order.delivery is DeliveryMethod.PICKUP
    assert order.shipping_lines[0].title == "Springfield Store"
    assert order.total_price == 2159


def test_cancelled_order_carries_its_reason_and_embedded_refund():
    event = order_of("orders-cancelled")
    assert event.order.cancelled_at == datetime(2025, 3, 17, 16, 0, tzinfo=UTC)
    assert event.order.cancel_reason == "customer"
    (refund,) = event.refunds
    assert [(rl.disposition, rl.subtotal, rl.tax) for rl in refund.lines] == [
        (Disposition.CANCEL, 1999, 160)
    ]
    assert refund.refunded_to_customer == 2159


def test_updated_order_embeds_the_partial_fulfilment():
    event = order_of("orders-updated-paid")
    assert event.order.payment_status is PaymentStatus.PAID
    (fulfilment,) = event.fulfilments
    assert [(fl.line_id, fl.quantity) for fl in fulfilment.lines] == [
        ("14000000000011", 1),
        ("14000000000012", 1),
    ]


def test_fulfilment_reports_the_shipped_units_and_where_from():
    event = translate("fulfillments/create", body("fulfillments-create-partial"))
    assert isinstance(event, FulfilmentReported)
    f = event.fulfilment
    assert (f.fulfilment_id, f.order_id, f.kind) == ("4900000000001", "5600000000001",
                                                     FulfilmentKind.SHIPMENT)  # fmt: skip
    assert f.location == WAREHOUSE
    assert f.tracking_number == "1Z999AA10123456784"
    assert f.occurred_at == datetime(2025, 3, 15, 13, 40, tzinfo=UTC)


def test_refund_reads_json_number_subtotals_and_one_line_twice():
    event = translate("refunds/create", body("refunds-create"))
    assert isinstance(event, RefundReported)
    refund = event.refund
    assert (refund.refund_id, refund.order_id, refund.return_id) == (
        "9300000000001", "5600000000001", "6700000001")  # fmt: skip
    assert refund.note == "Wrong size"
    cancelled, returned = refund.lines
    # Tee line: (50.00 - 5.00 - 4.50) / 2 = 20.25 per unit, tax (2.53 + 0.71) / 2 = 1.62.
    assert (cancelled.line_id, cancelled.disposition, cancelled.location) == (
        "14000000000011", Disposition.CANCEL, WAREHOUSE)  # fmt: skip
    assert (returned.disposition, returned.location) == (Disposition.RESTOCK, STORE)
    assert [(rl.subtotal, rl.tax) for rl in refund.lines] == [(2025, 162), (2025, 162)]
    (tender,) = refund.tenders
    assert (tender.gateway, tender.amount, tender.method) == (
        "shopify_payments", 4374, RefundMethod.ORIGINAL_TENDER)  # fmt: skip
    assert refund.discrepancy == -1
    assert (refund.shipping, refund.shipping_tax) == (0, 0)


def test_json_number_subtotal_is_used_when_no_set_is_sent():
    raw = orjson.loads(body("refunds-create"))
    for rli in raw["refund_line_items"]:
        del rli["subtotal_set"], rli["total_tax_set"]
    raw["refund_line_items"][0]["subtotal"] = 143.97  # a JSON number, as Shopify sends it
    refund = translate("refunds/create", orjson.dumps(raw)).refund  # type: ignore[union-attr]
    assert refund.lines[0].subtotal == 14397
    assert refund.lines[0].tax == 162


def test_shipping_refund_is_counted_once_from_refund_shipping_lines_and_adjustments():
    raw = orjson.loads(body("refunds-create"))
    money = {"shop_money": {"amount": "7.95", "currency_code": "USD"}}
    raw["refund_shipping_lines"] = [{"id": 1, "shipping_line_id": 2, "subtotal_amount_set": money}]
    raw["order_adjustments"] = [{
        "kind": "shipping_refund", "amount": "-7.95", "tax_amount": "-0.50",
        "amount_set": {"shop_money": {"amount": "-7.95", "currency_code": "USD"}},
        "tax_amount_set": {"shop_money": {"amount": "-0.50", "currency_code": "USD"}},
    }]  # fmt: skip
    refund = translate("refunds/create", orjson.dumps(raw)).refund  # type: ignore[union-attr]
    assert (refund.shipping, refund.shipping_tax) == (795, 50)
    raw["refund_shipping_lines"] = []
    refund = translate("refunds/create", orjson.dumps(raw)).refund  # type: ignore[union-attr]
    assert (refund.shipping, refund.shipping_tax) == (795, 50)


def test_no_restock_on_a_shipped_line_is_a_refund_without_return():
    raw = orjson.loads(body("refunds-create"))
    raw["refund_line_items"][1]["restock_type"] = "no_restock"
    raw["refund_line_items"][1]["location_id"] = None
    refund = translate("refunds/create", orjson.dumps(raw)).refund  # type: ignore[union-attr]
    assert refund.lines[1].disposition is Disposition.NOT_RETURNED


@pytest.mark.parametrize(
    ("gateway", "method"),
    [("gift_card", RefundMethod.GIFT_CARD), ("cash", RefundMethod.CASH),
     ("shopify_store_credit", RefundMethod.STORE_CREDIT), ("paypal", RefundMethod.ORIGINAL_TENDER)],
)  # fmt: skip
def test_refund_tender_method_follows_the_gateway(gateway, method):
    raw = orjson.loads(body("refunds-create"))
    raw["transactions"][0]["gateway"] = gateway
    refund = translate("refunds/create", orjson.dumps(raw)).refund  # type: ignore[union-attr]
    assert refund.tenders[0].method is method


def test_inventory_level_maps_item_location_and_count():
    event = translate("inventory_levels/update", body("inventory_levels-update"))
    assert event == InventoryLevelReported(
        ExternalRef("shopify", "46000000001"), STORE, 11,
        datetime(2025, 3, 20, 21, 5, tzinfo=UTC),
    )  # fmt: skip


def test_null_available_is_a_payload_error():
    raw = orjson.loads(body("inventory_levels-update"))
    raw["available"] = None
    with pytest.raises(PayloadError, match="available"):
        translate("inventory_levels/update", orjson.dumps(raw))


def test_truncated_json_names_the_position():
    data = body("orders-create-web")[:500]
    with pytest.raises(PayloadError, match=r"truncated.*byte 500"):
        translate("orders/create", data)


def test_malformed_json_names_the_byte():
    with pytest.raises(PayloadError, match=r"byte 9"):
        translate("orders/create", b'{"id": 1 "name": "#1"}')


def test_missing_line_items_names_the_path():
    raw = orjson.loads(body("orders-create-web"))
    del raw["line_items"]
    with pytest.raises(PayloadError, match=r"missing required field `line_items`"):
        translate("orders/create", orjson.dumps(raw))


def test_a_line_without_price_names_the_nested_path():
    raw = orjson.loads(body("orders-create-web"))
    del raw["line_items"][0]["price"]
    with pytest.raises(PayloadError, match=r"\$\.line_items\[0\]"):
        translate("orders/create", orjson.dumps(raw))


def test_negative_quantity_is_rejected_with_its_path():
    raw = orjson.loads(body("orders-create-web"))
    raw["line_items"][2]["quantity"] = -1
    with pytest.raises(PayloadError, match=r"\$\.line_items\[2\]\.quantity"):
        translate("orders/create", orjson.dumps(raw))


def test_missing_currency_is_rejected():
    raw = orjson.loads(body("orders-create-web"))
    raw["currency"] = ""
    with pytest.raises(PayloadError, match="currency"):
        translate("orders/create", orjson.dumps(raw))


def test_discount_index_out_of_range_is_rejected():
    raw = orjson.loads(body("orders-create-web"))
    raw["line_items"][1]["discount_allocations"][0]["discount_application_index"] = 7
    with pytest.raises(PayloadError, match=r"line_items\[1\].*out of range"):
        translate("orders/create", orjson.dumps(raw))


def test_unknown_topic():
    with pytest.raises(UnknownTopic):
        translate("carts/update", b"{}")


def test_channels_can_be_remapped():
    raw = orjson.loads(body("orders-create-web"))
    raw["source_name"] = "shopify_draft_order"
    assert translate("orders/create", orjson.dumps(raw)).order.channel == "web"  # type: ignore[union-attr]
    event = translate("orders/create", orjson.dumps(raw), channels={"shopify_draft_order": "b2b"})
    assert event.order.channel == "b2b"  # type: ignore[union-attr]
