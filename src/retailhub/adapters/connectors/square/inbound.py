"""Square notifications and fetched orders → canonical inbound events.

Payments and refunds arrive whole in their webhook (``data.object.payment`` /
``data.object.refund``) and map without any API call. Order notifications carry only a stub
(``data.object.order_updated``: id, version, location, state, times), so ``SquareWebhooks``
fetches the full order and hands it to ``order_events``. Every data problem is a
``PayloadError`` whose message says where (msgspec's ``$.data.object.payment.amount_money`` path,
or the order and line it is about); the webhook source turns it into an exception-queue item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

import msgspec

from retailhub.adapters.connectors.square import payloads as p
from retailhub.adapters.connectors.square import returns
from retailhub.adapters.connectors.square.errors import PayloadError, UnknownTopic
from retailhub.adapters.connectors.square.orders import order_reported
from retailhub.adapters.connectors.square.values import (
    SYSTEM,
    UNSETTLED_SOURCES,
    check_code,
    utc,
)
from retailhub.domain.events import EventsReported, InboundEvent, PaymentReported, RefundReported
from retailhub.domain.orders import ExternalRef
from retailhub.domain.payments import ExpectedReceipt, PaymentKind

__all__ = [
    "ORDER_TOPICS",
    "PAYMENT_TOPICS",
    "REFUND_TOPICS",
    "TOPICS",
    "envelope",
    "event_id",
    "order_events",
    "order_stub",
    "parse_order",
    "payment_reported",
    "refund_reported",
    "tender_types",
    "translate",
]

PAYMENT_TOPICS = frozenset({"payment.created", "payment.updated"})
REFUND_TOPICS = frozenset({"refund.created", "refund.updated"})
ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.fulfillment.updated"})
TOPICS = PAYMENT_TOPICS | REFUND_TOPICS | ORDER_TOPICS

S = TypeVar("S")
_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    t: msgspec.json.Decoder(t) for t in (p.Envelope, p.PaymentEvent, p.RefundEvent, p.OrderEvent)
}


def _decode(what: str, body: bytes, shape: type[S]) -> S:
    try:
        decoded: S = _DECODERS[shape].decode(body)
    except msgspec.ValidationError as exc:  # message ends "- at `$.data.object.payment.id`"
        raise PayloadError(f"invalid {what} body: {exc}") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        if "truncated" in message:  # msgspec gives no position for truncation: it is the end
            message = f"{message} (byte {len(body)})"
        raise PayloadError(f"{what} body is not valid JSON: {message}") from None
    return decoded


def envelope(body: bytes) -> p.Envelope | None:
    """The common fields, or None if the body is not a JSON object of that shape."""
    try:
        return _DECODERS[p.Envelope].decode(body)  # type: ignore[no-any-return]
    except msgspec.MsgspecError:
        return None


def event_id(body: bytes) -> str:
    """Square's ``event_id``; a body without one falls back to a hash, equal on redelivery."""
    env = envelope(body)
    if env is not None and env.event_id:
        return env.event_id
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


def translate(topic: str, body: bytes) -> InboundEvent:
    """Map a payment or refund notification (the ones that need no API call)."""
    if topic in PAYMENT_TOPICS:
        return payment_reported(topic, body)
    if topic in REFUND_TOPICS:
        return refund_reported(topic, body)
    if topic in ORDER_TOPICS:
        raise UnknownTopic(f"{topic} carries only a stub: the order must be fetched first")
    raise UnknownTopic(f"unknown Square event type {topic!r}")


def payment_reported(topic: str, body: bytes) -> PaymentReported:
    """``payment.created`` / ``payment.updated``: money the gateway owes once COMPLETED.

    The status is passed through; only COMPLETED payments are settled (Square API reference,
    Payment.status: APPROVED, PENDING, COMPLETED, CANCELED, FAILED). ``total_money`` (amount plus
    tip) is what is taken; refunds are their own notifications, so ``refunded_money`` is ignored.
    """
    pay = _decode(topic, body, p.PaymentEvent).data.object.payment
    money = pay.total_money or pay.amount_money
    currency = check_code(money.currency, "$.data.object.payment.total_money.currency")
    receipt = ExpectedReceipt(
        gateway=UNSETTLED_SOURCES.get(pay.source_type or "", SYSTEM),
        kind=PaymentKind.CAPTURE,
        amount=money.amount,
        currency=currency,
        occurred_at=utc(pay.created_at),
        transaction_id=pay.id,
        order_ref=pay.order_id,
        receipt_id=f"{SYSTEM}:{pay.id}",
    )
    order = ExternalRef(SYSTEM, pay.order_id) if pay.order_id else None
    return PaymentReported(receipt, order, utc(pay.updated_at), pay.status)


def refund_reported(topic: str, body: bytes) -> PaymentReported:
    """``refund.created`` / ``refund.updated``: money going back; COMPLETED is the settled one.

    ``order_id`` is the return order Square created for the refund (Square forum, "Comprehensive
    order view via API": GetRefund "will have the order_id of the refunded order"), which the hub
    does not keep as an order: a return becomes a refund *on the original sale*. So the report
    names no order and is ``against`` the refunded payment (``payment_id``), through which the
    handler finds the sale; the return order id stays on the receipt as its reference.
    """
    refund = _decode(topic, body, p.RefundEvent).data.object.refund
    currency = check_code(refund.amount_money.currency, "$.data.object.refund.amount_money")
    receipt = ExpectedReceipt(
        gateway=UNSETTLED_SOURCES.get(refund.destination_type or "", SYSTEM),
        kind=PaymentKind.REFUND,
        amount=-refund.amount_money.amount,
        currency=currency,
        occurred_at=utc(refund.created_at),
        transaction_id=refund.id,
        order_ref=refund.order_id,
        receipt_id=f"{SYSTEM}:{refund.id}",
    )
    return PaymentReported(
        receipt, None, utc(refund.updated_at), refund.status, against=refund.payment_id
    )


def order_stub(topic: str, body: bytes) -> p.OrderStub:
    """The ``order_created`` / ``order_updated`` / ``order_fulfillment_updated`` stub."""
    obj = _decode(topic, body, p.OrderEvent).data.object
    stub = obj.order_updated or obj.order_fulfillment_updated or obj.order_created
    if stub is None:
        raise PayloadError(
            f"invalid {topic} body: no order_created, order_updated or order_fulfillment_updated "
            "at `$.data.object`"
        )
    return stub


def parse_order(raw: Mapping[str, Any]) -> p.Order:
    """A full order as the Orders API returns it (a parsed JSON object)."""
    try:
        return msgspec.convert(raw, p.Order)
    except msgspec.ValidationError as exc:
        order_id = raw.get("id") if isinstance(raw, Mapping) else None
        raise PayloadError(f"invalid Square order {order_id or '(no id)'}: {exc}") from None


def tender_types(raw_orders: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Tender id → Tender.type across ``raw_orders`` (the sales a return refunds)."""
    types: dict[str, str] = {}
    for raw in raw_orders:
        try:
            sale = msgspec.convert(raw, p.TendersOnly)
        except msgspec.ValidationError as exc:
            raise PayloadError(f"invalid Square order {raw.get('id')!r}: {exc}") from None
        types.update({t.id: t.type for t in sale.tenders})
    return types


def order_events(
    o: p.Order, *, channel: str, tender_types: Mapping[str, str] | None = None
) -> InboundEvent:
    """The facts in one full order: a sale, refunds for its returns, or both (an exchange).

    A plain sale is an ``OrderReported``; a return order is its ``RefundReported`` (one per
    return); an exchange is ``EventsReported((RefundReported…, OrderReported))`` with the sale
    marked ``exchanged_from`` the original order and the return's value passed from the refund
    to the sale as an ``exchange`` store-credit tender.
    """
    currency = check_code(o.total_money.currency, "$.total_money.currency")
    credit = returns.exchange_credit(o, currency)
    events: list[InboundEvent] = [
        RefundReported(SYSTEM, r) for r in returns.refunds(o, currency, tender_types or {}, credit)
    ]
    if o.line_items or not o.returns:
        exchanged_from = o.returns[0].source_order_id if o.returns else None
        events.append(order_reported(o, channel, currency, exchanged_from, credit))
    return events[0] if len(events) == 1 else EventsReported(tuple(events))
