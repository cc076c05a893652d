"""The Square connector: signed notifications in, full orders fetched, canonical facts out.

One Brooklyn coffee shop's week (see tests/fixtures/square/README.md): a register sale split
between card and cash, a return of the dripper the next day, an exchange of a bag of beans for a
grinder, a gift card sale, a weighed tea the hub cannot count yet, an online order picked up in
store, and a VAT-inclusive sale at the London shop. Square itself is faked with
``httpx.MockTransport``; nothing sleeps and nothing leaves the process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pydantic
import pytest
from square.types.order import Order as SdkOrder
from square.types.order_fulfillment_updated_event import OrderFulfillmentUpdatedEvent
from square.types.order_updated_event import OrderUpdatedEvent
from square.types.payment_created_event import PaymentCreatedEvent
from square.types.payment_updated_event import PaymentUpdatedEvent
from square.types.refund_updated_event import RefundUpdatedEvent
from square.utils.webhooks_helper import verify_signature as sdk_verify_signature

from retailhub.adapters.connectors.kit import AuthError, FatalError, RetriableError, RetryPolicy
from retailhub.adapters.connectors.square import (
    PayloadError,
    SquareApi,
    SquareWebhooks,
    order_events,
    parse_order,
    sign,
    square_idempotency_key,
    verify_signature,
)
from retailhub.domain.customers import ChannelIdentity
from retailhub.domain.events import EventsReported, OrderReported, PaymentReported, RefundReported
from retailhub.domain.orders import (
    DeliveryMethod,
    DiscountAllocation,
    ExternalRef,
    FulfilmentKind,
    FulfilmentLine,
    PaymentStatus,
    TaxLine,
)
from retailhub.domain.payments import PaymentKind, Tender, TenderMethod
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.returns import Disposition, RefundMethod, RefundTender

FIXTURES = Path(__file__).parents[1] / "fixtures" / "square"
URL = "https://hub.example.test/webhooks/square"
KEY = "qfjakbt2uWB8DKAMECF-EA"  # the shape of a subscription signature key, invented
TOKEN = "EAAAl-test-access-token"
BASE = "https://connect.squareup.test"

STORE = ExternalRef("square", "LH2Q8W4VPK6N1")
SALE = "pQx7Rk2LmV9sT4wN8yB3cF6hJ1dZY"
RETURN = "rT5nW8qK3mZ7xC2vB9yL4sH6jD1ZY"
EXCHANGE = "xE4kP9wQ2nR7mT3vB8yL5sH6jC1ZY"
BEANS_LINE = "8E1B5A2C-3F4D-4C6E-9A7B-1D2E3F4A5B6C"
DRIPPER_LINE = "2C7D9E1F-5A3B-4D8C-B6E2-7F1A9C3D5E8B"
CARD_PAY = "bP3kXq9LwR2mT7vN5yH8cJ4sF6dZY"
CASH_PAY = "cA8mYt4KqW2nR6vB9xL3sJ7hF5dZY"
REFUND = f"{CARD_PAY}_Hk3mQ8wZ2nR7tV4bX9yL6sJ5pD"


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw(name))
    return loaded


def mapped(name: str, **tender_types: str) -> Any:
    return order_events(parse_order(load(name)), channel="pos", tender_types=tender_types)


# -- signatures ----------------------------------------------------------------------------------


def independent_signature(key: str, url: str, body: bytes) -> str:
    """What Square's step3validate page describes, written out without the connector's code."""
    digest = hmac.new(key.encode(), url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def test_a_signature_square_would_send_is_valid():
    body = raw("payment-created-card")
    header = independent_signature(KEY, URL, body)
    assert sign(KEY, URL, body) == header
    assert verify_signature(KEY, URL, body, header)


@pytest.mark.parametrize(
    ("key", "url", "body"),
    [
        ("another-subscription-key", URL, raw("payment-created-card")),  # wrong key
        (KEY, URL, raw("payment-created-card").replace(b"4000", b"400")),  # tampered body
        (KEY, URL.replace("https://", "http://"), raw("payment-created-card")),  # wrong URL
        (KEY, URL + "/", raw("payment-created-card")),  # a trailing slash is another URL
    ],
    ids=["wrong-key", "tampered-body", "wrong-scheme", "trailing-slash"],
)
def test_a_signature_for_anything_else_is_refused(key, url, body):
    header = independent_signature(KEY, URL, raw("payment-created-card"))
    assert not verify_signature(key, url, body, header)


@pytest.mark.parametrize("header", [None, "", "not base64!", base64.b64encode(b"short").decode()])
def test_a_missing_or_malformed_header_is_refused_without_raising(header):
    assert not verify_signature(KEY, URL, raw("payment-created-card"), header)


def test_both_keys_are_accepted_during_a_key_rotation():
    body = raw("refund-updated-completed")
    old, new = "old-key-before-rotation", KEY
    assert verify_signature([old, new], URL, body, independent_signature(old, URL, body))
    assert verify_signature([old, new], URL, body, independent_signature(new, URL, body))
    assert not verify_signature([old], URL, body, independent_signature(new, URL, body))


@pytest.mark.parametrize(
    ("signed_with", "url", "body"),
    [
        (KEY, URL, raw("order-updated-stub")),
        ("wrong", URL, raw("order-updated-stub")),
        (KEY, "https://elsewhere.example.test/hook", raw("order-updated-stub")),
        (KEY, URL, raw("order-updated-stub")[:-2] + b"}\n"),
    ],
    ids=["valid", "wrong-key", "wrong-url", "tampered"],
)
def test_we_agree_with_the_official_sdk_helper(signed_with, url, body):
    header = independent_signature(signed_with, URL, raw("order-updated-stub"))
    ours = verify_signature(KEY, url, body, header)
    theirs = sdk_verify_signature(
        request_body=body.decode(),
        signature_header=header,
        signature_key=KEY,
        notification_url=url,
    )
    assert ours == theirs
    assert ours is (signed_with == KEY and url == URL and body == raw("order-updated-stub"))


def test_the_webhook_source_reads_the_lower_cased_header():
    hooks = SquareWebhooks([KEY], URL)
    body = raw("payment-created-card")
    header = independent_signature(KEY, URL, body)
    assert hooks.verify({"x-square-hmacsha256-signature": header}, body)
    assert not hooks.verify({}, body)
    assert not SquareWebhooks([], URL).verify({"x-square-hmacsha256-signature": header}, body)


# -- the fixtures are shapes Square sends ---------------------------------------------------------


def sdk_problems(model: Any, path: str = "$") -> list[str]:
    """Fields the SDK does not know, and enum values outside the SDK's literals.

    The SDK's models accept unknown fields and any string for enums, so a plain model_validate
    would pass a misspelt fixture; this walk makes the check strict.
    """
    found: list[str] = []
    if isinstance(model, pydantic.BaseModel):
        if model.model_extra:
            found.append(f"{path}: fields unknown to the SDK {sorted(model.model_extra)}")
        for name, field in type(model).model_fields.items():
            value, at = getattr(model, name), f"{path}.{field.alias or name}"
            literals = [
                a for a in _union_args(field.annotation) if typing.get_origin(a) is typing.Literal
            ]
            allowed = {v for lit in literals for v in typing.get_args(lit)}
            if isinstance(value, str) and allowed and value not in allowed:
                found.append(f"{at}: {value!r} is not one of {sorted(allowed)}")
            found += sdk_problems(value, at)
    elif isinstance(model, list):
        for i, item in enumerate(model):
            found += sdk_problems(item, f"{path}[{i}]")
    return found


def _union_args(annotation: Any) -> Iterator[Any]:
    if typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            yield from _union_args(arg)
    else:
        yield annotation


SDK_MODELS: dict[str, type[pydantic.BaseModel]] = {
    "payment-created-card": PaymentCreatedEvent,
    "payment-updated-cash": PaymentUpdatedEvent,
    "refund-updated-completed": RefundUpdatedEvent,
    "order-updated-stub": OrderUpdatedEvent,
    "order-fulfillment-updated-stub": OrderFulfillmentUpdatedEvent,
    "order-pos-split-tender": SdkOrder,
    "order-return": SdkOrder,
    "order-exchange": SdkOrder,
    "order-inclusive-tax": SdkOrder,
    "order-gift-card-sale": SdkOrder,
    "order-weighed-item": SdkOrder,
    "order-online-pickup": SdkOrder,
}


def test_every_fixture_is_covered_by_an_sdk_model():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(SDK_MODELS)


@pytest.mark.parametrize("name", sorted(SDK_MODELS))
def test_fixture_validates_strictly_against_the_official_sdk(name):
    model = SDK_MODELS[name].model_validate(load(name))
    assert sdk_problems(model) == []


def test_the_strict_check_catches_a_misspelt_field_and_a_bad_enum():
    order = load("order-pos-split-tender")
    order["line_items"][0]["sku"] = "BEANS-1LB"  # Square line items have no sku
    order["tenders"][1]["type"] = "CASHIER"
    problems = sdk_problems(SdkOrder.model_validate(order))
    assert problems == [
        "$.line_items[0]: fields unknown to the SDK ['sku']",
        "$.tenders[1].type: 'CASHIER' is not one of "
        "['BANK_ACCOUNT', 'BUY_NOW_PAY_LATER', 'CARD', 'CASH', 'NO_SALE', 'OTHER', "
        "'SQUARE_ACCOUNT', 'SQUARE_GIFT_CARD', 'THIRD_PARTY_CARD', 'WALLET']",
    ]


# -- payments and refunds -------------------------------------------------------------------------


def translate_body(name: str, hooks: SquareWebhooks | None = None) -> Any:
    hooks = hooks or SquareWebhooks([KEY], URL)
    body = raw(name)
    return hooks.translate(hooks.topic({}, body), body)


def test_a_card_payment_is_money_square_owes():
    event = translate_body("payment-created-card")
    assert isinstance(event, PaymentReported)
    r = event.receipt
    assert (r.gateway, r.kind, r.amount, r.currency) == ("square", PaymentKind.CAPTURE, 4000, "USD")
    assert (r.transaction_id, r.order_ref, r.receipt_id) == (CARD_PAY, SALE, f"square:{CARD_PAY}")
    assert r.occurred_at == datetime(2025, 3, 14, 15, 4, 12, 633000, tzinfo=UTC)
    assert event.order == ExternalRef("square", SALE)
    assert event.updated_at == datetime(2025, 3, 14, 15, 4, 13, 408000, tzinfo=UTC)
    assert event.status == "COMPLETED"


def test_a_cash_payment_is_reported_but_never_expected_in_a_payout():
    event = translate_body("payment-updated-cash")
    assert isinstance(event, PaymentReported)
    assert (event.receipt.gateway, event.receipt.amount) == ("cash", 1706)
    assert event.receipt.transaction_id == CASH_PAY


def test_a_gift_card_payment_is_not_settled_by_square_either():
    body = load("payment-updated-cash")
    body["data"]["object"]["payment"]["source_type"] = "SQUARE_GIFT_CARD"
    event = SquareWebhooks([KEY], URL).translate("payment.updated", json.dumps(body).encode())
    assert isinstance(event, PaymentReported)
    assert event.receipt.gateway == "gift_card"


def test_a_refund_is_negative_money_against_the_payment_it_returns():
    event = translate_body("refund-updated-completed")
    assert isinstance(event, PaymentReported)
    r = event.receipt
    assert (r.gateway, r.kind, r.amount, r.currency) == ("square", PaymentKind.REFUND, -2485, "USD")
    assert (r.transaction_id, r.receipt_id) == (REFUND, f"square:{REFUND}")
    assert r.occurred_at == datetime(2025, 3, 15, 10, 12, 40, 515000, tzinfo=UTC)
    # Square files the refund on the return order, which the hub keeps as a refund on the sale:
    # the card payment it is against leads to that sale.
    assert (event.against, event.order, r.order_ref) == (CARD_PAY, None, RETURN)
    assert event.status == "COMPLETED"


def test_a_cash_refund_is_not_expected_in_a_payout():
    body = load("refund-updated-completed")
    body["data"]["object"]["refund"]["destination_type"] = "CASH"
    event = SquareWebhooks([KEY], URL).translate("refund.updated", json.dumps(body).encode())
    assert isinstance(event, PaymentReported)
    assert (event.receipt.gateway, event.receipt.amount) == ("cash", -2485)


def test_a_payment_with_a_float_amount_is_an_invalid_payload_with_its_path():
    body = raw("payment-created-card").replace(b'"amount": 4000', b'"amount": 40.00', 1)
    problem = SquareWebhooks([KEY], URL).translate("payment.created", body)
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.INVALID_PAYLOAD
    assert "$.data.object.payment.amount_money.amount" in problem.reason


def test_dedup_id_and_topic_come_from_the_body():
    hooks = SquareWebhooks([KEY], URL)
    body = raw("order-updated-stub")
    assert hooks.event_id({}, body) == "6c2f4e8a-1b3d-4f5a-9c7e-2d4b6f8a1c3e"
    assert hooks.event_id({}, body) == hooks.event_id({"x-other": "1"}, body)  # a redelivery
    assert hooks.topic({}, body) == "order.updated"
    assert hooks.event_id({}, b"not json") == hooks.event_id({}, b"not json")
    assert hooks.event_id({}, b"not json").startswith("sha256:")
    assert hooks.topic({}, b"not json") == ""


def test_an_event_type_we_do_not_handle_is_an_unknown_topic():
    problem = SquareWebhooks([KEY], URL).translate("customer.created", b"{}")
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.UNKNOWN_TOPIC


# -- orders -------------------------------------------------------------------------------------


def test_the_register_sale_maps_to_exact_canonical_values():
    event = mapped("order-pos-split-tender")
    assert isinstance(event, OrderReported)
    o = event.order
    assert (o.channel, o.order_id, o.name, o.source) == ("pos", SALE, SALE, "square")
    assert o.created_at == datetime(2025, 3, 14, 15, 2, 11, 482000, tzinfo=UTC)
    assert o.updated_at == datetime(2025, 3, 14, 15, 4, 38, 101000, tzinfo=UTC)
    assert (o.currency, o.total_price, o.taxes_included) == ("USD", 5706, False)
    assert o.payment_status is PaymentStatus.PAID
    assert (o.delivery, o.gateway, o.location) == (DeliveryMethod.IN_STORE, "square", STORE)
    assert o.customer is not None
    assert o.customer.identity == ChannelIdentity("square", "JDKYHBWT1D4F8MFH63DBMEN8Y4")
    beans, dripper = o.lines
    nyc = Decimal("0.08875")
    assert (beans.line_id, beans.sku, beans.title) == (
        BEANS_LINE,
        None,
        "Cold Brew Coffee Beans - 1 lb bag",
    )
    assert (beans.quantity, beans.unit_price, beans.gift_card) == (2, 1800, False)
    assert beans.variant == ExternalRef("square", "W6QFK3ZJ2XHCY7BNM4RTAE5P")
    assert beans.discounts == (  # the item discount, then its share of the order discount
        DiscountAllocation(360, "Bean Bundle 10%"),
        DiscountAllocation(282, "Loyalty $5 Off"),
    )
    assert beans.tax_lines == (TaxLine("NYC Sales Tax", nyc, 263),)
    assert (dripper.line_id, dripper.quantity, dripper.unit_price) == (DRIPPER_LINE, 1, 2500)
    assert dripper.discounts == (DiscountAllocation(218, "Loyalty $5 Off"),)
    assert dripper.tax_lines == (TaxLine("NYC Sales Tax", nyc, 203),)
    # The canonical lines add up to Square's own total.
    assert sum(li.gross - li.discount + li.tax for li in o.lines) == o.total_price
    assert o.tenders == (
        Tender(TenderMethod.CARD, "square", 4000, CARD_PAY),
        Tender(TenderMethod.CASH, "cash", 1706, CASH_PAY),
    )
    (carried,) = event.fulfilments
    assert (carried.fulfilment_id, carried.order_id) == (f"{SALE}:carry-out", SALE)
    assert (carried.kind, carried.location, carried.status) == (
        FulfilmentKind.SHIPMENT,
        STORE,
        "success",
    )
    assert carried.lines == (FulfilmentLine(BEANS_LINE, 2), FulfilmentLine(DRIPPER_LINE, 1))
    assert carried.occurred_at == datetime(2025, 3, 14, 15, 4, 37, 915000, tzinfo=UTC)  # closed_at


def test_an_open_order_is_not_carried_out_yet():
    order = load("order-pos-split-tender")
    order.update(state="OPEN", net_amount_due_money={"amount": 1706, "currency": "USD"})
    order["tenders"] = order["tenders"][:1]
    event = order_events(parse_order(order), channel="pos")
    assert isinstance(event, OrderReported)
    assert event.order.payment_status is PaymentStatus.PENDING
    assert event.fulfilments == ()


def test_a_vat_inclusive_sale_keeps_tax_inside_the_price():
    event = mapped("order-inclusive-tax")
    assert isinstance(event, OrderReported)
    o = event.order
    assert (o.currency, o.taxes_included, o.total_price) == ("GBP", True, 2400)
    (tote,) = o.lines
    assert (tote.title, tote.quantity, tote.unit_price) == ("Canvas Tote Bag - Natural", 2, 1200)
    assert tote.tax_lines == (TaxLine("VAT", Decimal("0.2"), 400),)
    assert tote.gross - tote.discount == o.total_price  # the tax is not added on top
    assert o.location == ExternalRef("square", "LB9R3T6W2XQ4M")


def test_a_gift_card_sale_line_is_a_gift_card_not_stock():
    event = mapped("order-gift-card-sale")
    assert isinstance(event, OrderReported)
    (card,) = event.order.lines
    assert (card.gift_card, card.requires_shipping, card.variant) == (True, False, None)
    assert (card.title, card.unit_price) == ("Gift Card", 5000)


def test_an_online_order_picked_up_in_store():
    event = mapped("order-online-pickup")
    assert isinstance(event, OrderReported)
    assert (event.order.name, event.order.delivery) == ("ONLINE-1042", DeliveryMethod.PICKUP)
    (pickup,) = event.fulfilments
    order_id, fulfillment_uid = (
        "oP3nW6qK9mZ2xR7vB4yL8sH5jH1ZY",
        "F7C4A1E8-3D9B-4F6C-A2E5-8B1D4F7C3A9E",
    )
    assert pickup.fulfilment_id == f"{order_id}:{fulfillment_uid}"
    assert pickup.kind is FulfilmentKind.PICKUP
    assert pickup.lines == (FulfilmentLine("4B1E7C3A-8D5F-4A2B-E6C9-1F7D3B8E5A2C", 1),)
    picked_up_at = datetime(2025, 3, 17, 10, 2, 47, 930000, tzinfo=UTC)
    assert pickup.occurred_at == picked_up_at


def test_a_fulfillment_not_yet_completed_has_not_left_the_store():
    order = load("order-online-pickup")
    order["fulfillments"][0]["state"] = "PREPARED"
    event = order_events(parse_order(order), channel="pos")
    assert isinstance(event, OrderReported)
    assert event.fulfilments == ()


def test_modifiers_are_part_of_the_unit_price():
    order = load("order-pos-split-tender")
    order["line_items"][1]["modifiers"] = [
        {
            "uid": "m1",
            "name": "Gift wrap",
            "quantity": "1",
            "base_price_money": {"amount": 300, "currency": "USD"},
            "total_price_money": {"amount": 300, "currency": "USD"},
        },
    ]
    event = order_events(parse_order(order), channel="pos")
    assert isinstance(event, OrderReported)
    assert event.order.lines[1].unit_price == 2800


def test_the_return_is_a_refund_of_the_original_line():
    event = mapped("order-return")
    assert isinstance(event, RefundReported)
    assert event.channel_system == "square"
    r = event.refund
    assert (r.refund_id, r.order_id) == (f"{RETURN}:R4F1C8D2-6B3A-4E9C-A5D7-3F8B1E6C9A2D", SALE)
    assert r.occurred_at == datetime(2025, 3, 15, 10, 12, 40, 998000, tzinfo=UTC)
    (line,) = r.lines
    assert (line.line_id, line.quantity, line.disposition, line.location) == (
        DRIPPER_LINE,
        1,
        Disposition.RESTOCK,
        STORE,
    )
    assert (line.subtotal, line.tax) == (2500 - 218, 203)
    # The sale's tender is not on the return order: without its type, the original tender.
    assert r.tenders == (RefundTender(REFUND, "square", 2485, RefundMethod.ORIGINAL_TENDER),)
    assert r.refunded_to_customer == line.subtotal + line.tax


def test_a_cash_refund_is_recognised_from_the_sale_s_tender_type():
    order = load("order-return")
    order["refunds"][0]["tender_id"] = CASH_PAY
    event = order_events(parse_order(order), channel="pos", tender_types={CASH_PAY: "CASH"})
    assert isinstance(event, RefundReported)
    assert event.refund.tenders == (RefundTender(REFUND, "cash", 2485, RefundMethod.CASH),)


def test_a_rejected_refund_moved_no_money():
    order = load("order-return")
    order["refunds"][0]["status"] = "REJECTED"
    event = order_events(parse_order(order), channel="pos")
    assert isinstance(event, RefundReported)
    assert event.refund.tenders == ()


def test_an_exchange_is_a_return_plus_a_new_sale():
    event = mapped("order-exchange")
    assert isinstance(event, EventsReported)
    returned, sale = event.events
    assert isinstance(returned, RefundReported) and isinstance(sale, OrderReported)
    r = returned.refund
    (line,) = r.lines
    assert (r.order_id, line.line_id, line.quantity) == (SALE, BEANS_LINE, 1)
    assert (line.subtotal, line.tax) == (1800 - 321, 131)
    # Nothing went back to the card: the bag's 16.10 paid for part of the grinder.
    credit = RefundTender(f"{EXCHANGE}:exchange", "exchange", 1610, RefundMethod.STORE_CREDIT)
    assert r.tenders == (credit,)
    o = sale.order
    assert (o.order_id, o.exchanged_from, o.total_price) == (EXCHANGE, SALE, 4899)
    (grinder,) = o.lines
    assert (grinder.title, grinder.unit_price) == ("Hand Burr Grinder", 4500)  # not "- Regular"
    assert o.tenders == (
        Tender(TenderMethod.CARD, "square", 3289, "eX2nQ7wK4mR9tV3bB8yL6sJ5hF1ZY"),
        Tender(TenderMethod.STORE_CREDIT, "exchange", 1610, f"{EXCHANGE}:exchange"),
    )
    assert sum(t.amount for t in o.tenders) == o.total_price
    assert [f.fulfilment_id for f in sale.fulfilments] == [f"{EXCHANGE}:carry-out"]


def test_an_exchange_for_cheaper_goods_refunds_the_difference():
    order = load("order-exchange")
    order["line_items"][0]["base_price_money"]["amount"] = 1000  # a 10.00 filter pack instead
    order["total_money"]["amount"] = 1089
    order["tenders"] = []
    order["refunds"] = [
        {
            "id": "rf-1",
            "location_id": "LH2Q8W4VPK6N1",
            "transaction_id": SALE,
            "tender_id": CARD_PAY,
            "reason": "Exchange",
            "status": "APPROVED",
            "amount_money": {"amount": 521, "currency": "USD"},
        },
    ]
    event = order_events(parse_order(order), channel="pos", tender_types={CARD_PAY: "CARD"})
    assert isinstance(event, EventsReported)
    returned, sale = event.events
    assert isinstance(returned, RefundReported) and isinstance(sale, OrderReported)
    assert returned.refund.tenders == (
        RefundTender("rf-1", "square", 521, RefundMethod.ORIGINAL_TENDER),
        RefundTender(f"{EXCHANGE}:exchange", "exchange", 1089, RefundMethod.STORE_CREDIT),
    )
    assert returned.refund.refunded_to_customer == 1610  # the returned bag's full value
    assert sale.order.tenders == (
        Tender(TenderMethod.STORE_CREDIT, "exchange", 1089, f"{EXCHANGE}:exchange"),
    )


def test_a_weighed_item_is_refused_with_the_line_and_path():
    with pytest.raises(PayloadError) as caught:
        mapped("order-weighed-item")
    message = str(caught.value)
    assert "Loose Leaf Sencha" in message and "'0.250'" in message
    assert "`$.line_items[0].quantity`" in message and "wS6kP3qN8mR2xT7vB9yL4sH5jG1ZY" in message


def test_mixed_additive_and_inclusive_taxes_are_refused():
    order = load("order-pos-split-tender")
    order["taxes"].append({"uid": "vat", "name": "VAT", "type": "INCLUSIVE", "percentage": "20"})
    with pytest.raises(PayloadError, match="mixes ADDITIVE and INCLUSIVE"):
        order_events(parse_order(order), channel="pos")


def test_a_discount_uid_that_names_nothing_is_refused_with_its_path():
    order = load("order-pos-split-tender")
    order["line_items"][1]["applied_discounts"][0]["discount_uid"] = "gone"
    with pytest.raises(PayloadError, match=r"`\$\.line_items\[1\]\.applied_discounts\[0\]`"):
        order_events(parse_order(order), channel="pos")


def test_an_amount_in_another_currency_is_refused():
    order = load("order-pos-split-tender")
    order["tenders"][1]["amount_money"]["currency"] = "CAD"
    with pytest.raises(PayloadError, match=r"CAD where the order is in USD.*tenders\[1\]"):
        order_events(parse_order(order), channel="pos")


# -- a fake Square and the API -------------------------------------------------------------------


def square_error(status: int, category: str, code: str, detail: str) -> httpx.Response:
    errors = [{"category": category, "code": code, "detail": detail}]
    return httpx.Response(status, json={"errors": errors})


class FakeSquare:
    """Square's REST API as far as the connector uses it; every request is kept for asserts."""

    def __init__(self, *orders: dict[str, Any]) -> None:
        self.orders = {o["id"]: o for o in orders}
        self.requests: list[httpx.Request] = []
        self.failures: list[httpx.Response] = []  # answered first, one per request
        self.search_pages: dict[str | None, dict[str, Any]] = {}
        self.payment_pages: dict[str | None, dict[str, Any]] = {}
        self.changes: dict[str, dict[str, Any]] = {}  # idempotency key -> first response

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            detail = "This request could not be authorized."
            return square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", detail)
        assert request.headers["Square-Version"] == "2025-10-16"
        if self.failures:
            return self.failures.pop(0)
        route = (request.method, request.url.path)
        body = json.loads(request.content) if request.content else {}
        if route == ("POST", "/v2/orders/batch-retrieve"):
            location = body.get("location_id")
            found = [
                self.orders[i]
                for i in body["order_ids"]
                if i in self.orders and location in (None, self.orders[i]["location_id"])
            ]
            return httpx.Response(200, json={"orders": found} if found else {})
        if route == ("POST", "/v2/orders/search"):
            return httpx.Response(200, json=self.search_pages[body.get("cursor")])
        if route == ("GET", "/v2/payments"):
            return httpx.Response(200, json=self.payment_pages[request.url.params.get("cursor")])
        if route == ("POST", "/v2/inventory/changes/batch-create"):
            key = body["idempotency_key"]
            counts = [
                {"catalog_object_id": c["physical_count"]["catalog_object_id"]}
                for c in body["changes"]
            ]
            return httpx.Response(200, json=self.changes.setdefault(key, {"counts": counts}))
        return square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", f"no route {route}")

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path == path]


Sleeps = list[float]


@pytest.fixture
def sleeps() -> Sleeps:
    return []


def api_for(fake: FakeSquare, sleeps: Sleeps, token: str = TOKEN) -> SquareApi:
    policy = RetryPolicy(max_attempts=3, base=0.001, cap=0.01, rng=random.Random(7))
    return SquareApi(
        token, BASE, transport=httpx.MockTransport(fake), retry=policy, sleep=sleeps.append
    )


def hooks_for(fake: FakeSquare, sleeps: Sleeps, token: str = TOKEN) -> SquareWebhooks:
    return SquareWebhooks([KEY], URL, api=api_for(fake, sleeps, token))


def stub_body(order_id: str, version: int, name: str = "order-updated-stub") -> bytes:
    body = load(name)
    key = next(iter(body["data"]["object"]))
    body["data"]["object"][key].update(order_id=order_id, version=version)
    body["data"]["id"] = order_id
    body["event_id"] = f"evt-{order_id}-{version}"  # each notification has its own
    return json.dumps(body).encode()


def test_an_order_updated_stub_fetches_the_full_order_and_maps_it(sleeps):
    fake = FakeSquare(load("order-pos-split-tender"))
    event = hooks_for(fake, sleeps).translate("order.updated", raw("order-updated-stub"))
    assert isinstance(event, OrderReported)
    assert (event.order.order_id, event.order.total_price) == (SALE, 5706)
    assert len(event.order.tenders) == 2 and len(event.fulfilments) == 1
    assert fake.bodies("/v2/orders/batch-retrieve") == [
        {"location_id": "LH2Q8W4VPK6N1", "order_ids": [SALE]}
    ]
    assert sleeps == []


def test_a_fulfillment_update_fetches_the_order_too(sleeps):
    fake = FakeSquare(load("order-online-pickup"))
    body = raw("order-fulfillment-updated-stub")
    event = hooks_for(fake, sleeps).translate("order.fulfillment.updated", body)
    assert isinstance(event, OrderReported)
    assert [f.kind for f in event.fulfilments] == [FulfilmentKind.PICKUP]


def test_a_return_fetches_its_sale_to_learn_how_the_refund_was_paid(sleeps):
    cash_return = load("order-return")
    cash_return["refunds"][0]["tender_id"] = CASH_PAY
    fake = FakeSquare(load("order-pos-split-tender"), cash_return)
    event = hooks_for(fake, sleeps).translate("order.updated", stub_body(RETURN, 1))
    assert isinstance(event, RefundReported)
    assert event.refund.tenders == (RefundTender(REFUND, "cash", 2485, RefundMethod.CASH),)
    # The sale may be at another location, so the second lookup is seller-wide.
    assert fake.bodies("/v2/orders/batch-retrieve") == [
        {"location_id": "LH2Q8W4VPK6N1", "order_ids": [RETURN]},
        {"order_ids": [SALE]},
    ]


def test_a_weighed_item_fetched_for_a_stub_is_an_invalid_payload(sleeps):
    fake = FakeSquare(load("order-weighed-item"))
    body = stub_body("wS6kP3qN8mR2xT7vB9yL4sH5jG1ZY", 4)
    problem = hooks_for(fake, sleeps).translate("order.updated", body)
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.INVALID_PAYLOAD
    assert "fractional quantity '0.250'" in problem.reason


def test_an_unlinked_return_goes_to_store_ops(sleeps):
    unlinked = load("order-return")
    del unlinked["returns"][0]["source_order_id"]
    fake = FakeSquare(unlinked)
    problem = hooks_for(fake, sleeps).translate("order.updated", stub_body(RETURN, 1))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.UNLINKED_RETURN
    assert "`$.returns[0].source_order_id`" in problem.reason


def test_a_read_older_than_the_notification_is_retried_later(sleeps):
    fake = FakeSquare(load("order-pos-split-tender"))  # version 4
    problem = hooks_for(fake, sleeps).translate("order.updated", stub_body(SALE, 5))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR
    assert "stale read: fetched version 4" in problem.reason and "version 5" in problem.reason
    assert problem.subject == f"order:square:{SALE}"


def test_an_order_square_does_not_return_is_a_connector_problem(sleeps):
    problem = hooks_for(FakeSquare(), sleeps).translate("order.updated", raw("order-updated-stub"))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR
    assert "did not return the order" in problem.reason


def test_without_api_access_an_order_stub_cannot_be_mapped():
    problem = SquareWebhooks([KEY], URL).translate("order.updated", raw("order-updated-stub"))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR
    assert "no Square API access token" in problem.reason


def test_a_rejected_token_is_a_connector_problem_with_square_s_words(sleeps):
    fake = FakeSquare(load("order-pos-split-tender"))
    hooks = hooks_for(fake, sleeps, token="EAAA-revoked")
    problem = hooks.translate("order.updated", raw("order-updated-stub"))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_AUTH_FAILURE  # a person fixes it, not a retry
    assert "This request could not be authorized." in problem.reason
    assert "fix, then retry" in problem.reason
    with pytest.raises(AuthError):
        api_for(fake, sleeps, token="EAAA-revoked").retrieve_orders("LH2Q8W4VPK6N1", [SALE])
    assert all(r.headers["Authorization"] == "Bearer EAAA-revoked" for r in fake.requests)


def test_square_down_for_every_attempt_is_retried_later(sleeps):
    fake = FakeSquare(load("order-pos-split-tender"))
    fake.failures = [
        square_error(503, "API_ERROR", "SERVICE_UNAVAILABLE", "Service unavailable")
    ] * 3
    problem = hooks_for(fake, sleeps).translate("order.updated", raw("order-updated-stub"))
    assert isinstance(problem, Problem)
    assert problem.type is ProblemType.CONNECTOR_ERROR
    assert "retry later" in problem.reason and "Service unavailable" in problem.reason
    assert len(fake.requests) == 3 and len(sleeps) == 2  # a read: every attempt was used


def test_a_429_is_retried_after_a_backoff(sleeps):
    fake = FakeSquare(load("order-pos-split-tender"))
    fake.failures = [square_error(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded")]
    orders = api_for(fake, sleeps).retrieve_orders("LH2Q8W4VPK6N1", [SALE])
    assert [o["id"] for o in orders] == [SALE]
    assert len(fake.requests) == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.001  # full jitter under the first ceiling
    assert fake.requests[0].content == fake.requests[1].content


def test_a_bad_request_is_fatal_with_square_s_detail(sleeps):
    fake = FakeSquare()
    detail = "Expected `order_ids` to contain at most 100 elements."
    fake.failures = [square_error(400, "INVALID_REQUEST_ERROR", "VALUE_TOO_LONG", detail)]
    with pytest.raises(FatalError) as caught:
        api_for(fake, sleeps).retrieve_orders("LH2Q8W4VPK6N1", [SALE])
    assert caught.value.vendor_message == detail
    assert len(fake.requests) == 1 and sleeps == []


def test_search_orders_follows_the_cursor_through_three_pages(sleeps):
    fake = FakeSquare()
    fake.search_pages = {
        None: {"orders": [{"id": "o1"}, {"id": "o2"}], "cursor": "c-page-2"},
        "c-page-2": {"orders": [{"id": "o3"}], "cursor": "c-page-3"},
        "c-page-3": {"orders": [{"id": "o4"}]},
    }
    since = datetime(2025, 3, 14, 0, 0, tzinfo=UTC)
    found = [o["id"] for o in api_for(fake, sleeps).search_orders(["LH2Q8W4VPK6N1"], since)]
    assert found == ["o1", "o2", "o3", "o4"]
    first, second, third = fake.bodies("/v2/orders/search")
    assert first == {
        "location_ids": ["LH2Q8W4VPK6N1"],
        "query": {
            "filter": {"date_time_filter": {"updated_at": {"start_at": "2025-03-14T00:00:00Z"}}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        },
        "limit": 500,
    }
    assert second == {**first, "cursor": "c-page-2"}  # the same query, plus the cursor
    assert third == {**first, "cursor": "c-page-3"}


def test_search_orders_asks_ten_locations_at_a_time(sleeps):
    fake = FakeSquare()
    fake.search_pages = {None: {"orders": [{"id": "o"}]}}
    locations = [f"L{i:02d}" for i in range(12)]
    since = datetime(2025, 3, 14, tzinfo=UTC)
    assert len(list(api_for(fake, sleeps).search_orders(locations, since))) == 2
    sent = [b["location_ids"] for b in fake.bodies("/v2/orders/search")]
    assert sent == [locations[:10], locations[10:]]
    with pytest.raises(ValueError, match="timezone-aware"):
        list(api_for(fake, sleeps).search_orders(locations, datetime(2025, 3, 14)))


def test_list_payments_sends_the_cursor_as_a_query_parameter(sleeps):
    fake = FakeSquare()
    fake.payment_pages = {
        None: {"payments": [{"id": CARD_PAY}], "cursor": "p2"},
        "p2": {"payments": [{"id": CASH_PAY}]},
    }
    since = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    payments = [p["id"] for p in api_for(fake, sleeps).list_payments(since)]
    assert payments == [CARD_PAY, CASH_PAY]
    queries = [parse_qs(urlsplit(str(r.url)).query) for r in fake.requests]
    assert queries[0] == {"begin_time": ["2025-03-14T10:00:00Z"], "sort_order": ["ASC"]}
    assert queries[1] == {**queries[0], "cursor": ["p2"]}


def test_an_inventory_batch_retried_after_a_500_carries_the_same_key(sleeps):
    fake = FakeSquare()
    fake.failures = [square_error(500, "API_ERROR", "INTERNAL_SERVER_ERROR", "Internal error")]
    count = {
        "catalog_object_id": "W6QFK3ZJ2XHCY7BNM4RTAE5P",
        "state": "IN_STOCK",
        "location_id": "LH2Q8W4VPK6N1",
        "quantity": "41",
        "occurred_at": "2025-03-14T18:00:00Z",
    }
    changes = [{"type": "PHYSICAL_COUNT", "physical_count": count}]
    api = api_for(fake, sleeps)
    result = api.batch_change_inventory(changes, idempotency_key="count:2025-03-14:brooklyn")
    assert result == {"counts": [{"catalog_object_id": "W6QFK3ZJ2XHCY7BNM4RTAE5P"}]}
    first, retry = fake.bodies("/v2/inventory/changes/batch-create")
    assert first == retry  # the very same request, key included
    key = first["idempotency_key"]
    assert key == square_idempotency_key("count:2025-03-14:brooklyn")
    assert len(key) <= 128 and key != "count:2025-03-14:brooklyn"
    assert first["changes"] == changes and len(sleeps) == 1
    # A later run (a worker restarting the same outbox message) sends that key again.
    api.batch_change_inventory(changes, idempotency_key="count:2025-03-14:brooklyn")
    assert fake.bodies("/v2/inventory/changes/batch-create")[-1]["idempotency_key"] == key
    assert square_idempotency_key("count:2025-03-15:brooklyn") != key


def test_a_retriable_error_escapes_the_api_when_attempts_run_out(sleeps):
    fake = FakeSquare()
    fake.failures = [square_error(502, "API_ERROR", "BAD_GATEWAY", "Bad gateway")] * 3
    with pytest.raises(RetriableError):
        api_for(fake, sleeps).batch_change_inventory([], idempotency_key="k")
