"""Money the gateways owe us: expected receipts from captures, refunds and gateway reports.

Every capture and refund the hub applies leaves an expected receipt, so reconciliation can ask
each settlement "did you pay this?". A gateway's own report of the same payment (a Stripe
charge, a Square payment) does not create a second receipt: it finds the one the order left,
by the gateway's transaction id or by the order, and adds what it knows (the id, the status).
"""

from __future__ import annotations

from datetime import date

from retailhub.domain import payment_posting
from retailhub.domain.events import PaymentReported
from retailhub.domain.orders import ExternalRef
from retailhub.domain.payments import (
    UNSETTLED_GATEWAYS,
    ExpectedReceipt,
    PaymentKind,
    Tender,
    TenderMethod,
)
from retailhub.domain.returns import Refund
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.ports import OrderRecord, StoredReceipt

# Gateway statuses that mean the money moved (Stripe "succeeded", Square "COMPLETED", …).
_SETTLING = frozenset({"succeeded", "completed", "paid", "won", "expected", "lost", "captured"})
_FAILED = frozenset({"failed", "canceled", "cancelled", "rejected", "voided"})


def status_of(gateway_status: str) -> str:
    s = gateway_status.lower()
    if s in _SETTLING:
        return "expected"
    return "failed" if s in _FAILED else "pending"


def capture_receipts(record: OrderRecord, ctx: ApplyContext) -> None:
    """The receipts an order's capture leaves: one per settling tender, or one for the order."""
    order = record.order
    ref = ExternalRef(order.source, order.order_id)
    if order.tenders:
        for i, t in enumerate(order.tenders):
            gateway = ctx.rules.gateway(t.gateway)
            if gateway in UNSETTLED_GATEWAYS:
                continue
            receipt_id = f"{order.source}:{order.order_id}:tender:{t.transaction_id or i}"
            reported = (
                ctx.uow.payments.find(gateway, t.transaction_id) if t.transaction_id else None
            )
            if reported is not None:  # the gateway reported this payment before the order came
                receipt_id = reported.receipt.receipt_id
            _expect(
                ctx,
                ExpectedReceipt(
                    gateway,
                    PaymentKind.CAPTURE,
                    t.amount,
                    order.currency,
                    order.created_at,
                    t.transaction_id,
                    order.order_id,
                    receipt_id,
                ),
                ref,
            )
        return
    gateway = ctx.rules.gateway(order.gateway)
    if gateway in UNSETTLED_GATEWAYS or record.captured <= 0:
        return
    receipt_id = f"{order.source}:{order.order_id}:capture"
    captures = ctx.uow.payments.for_order(gateway, order.order_id, PaymentKind.CAPTURE)
    known = next((c for c in captures if c.receipt.receipt_id == receipt_id), None)
    if known is None and any(c.receipt.receipt_id.startswith(f"{gateway}:") for c in captures):
        return  # the gateway's own report of this capture is the receipt
    txn = known.receipt.transaction_id if known else None  # a gateway report may have added it
    _expect(
        ctx,
        ExpectedReceipt(
            gateway,
            PaymentKind.CAPTURE,
            record.captured,
            order.currency,
            order.created_at,
            txn,
            order.order_id,
            receipt_id,
        ),
        ref,
    )


def refund_receipts(record: OrderRecord, r: Refund, ctx: ApplyContext) -> None:
    order = record.order
    ref = ExternalRef(order.source, order.order_id)
    for t in r.tenders:
        gateway = ctx.rules.gateway(t.gateway)
        if gateway in UNSETTLED_GATEWAYS:
            continue
        receipt_id = f"{order.source}:refund:{r.refund_id}:{t.transaction_id}"
        known = ctx.uow.payments.find(gateway, t.transaction_id)
        if known is not None:  # the gateway reported this refund first, under our id
            receipt_id = known.receipt.receipt_id
        elif _reported_first(ctx, gateway, order.order_id, PaymentKind.REFUND, -t.amount):
            continue  # … or under its own id (re_…): that report is the receipt
        _expect(
            ctx,
            ExpectedReceipt(
                gateway,
                PaymentKind.REFUND,
                -t.amount,
                order.currency,
                r.occurred_at,
                t.transaction_id,
                order.order_id,
                receipt_id,
            ),
            ref,
        )


def gift_card_breakage(
    currency: str,
    channel: str,
    tenders: tuple[Tender, ...],
    on: date,
    key: str,
    ctx: ApplyContext,
) -> None:
    """Proportional breakage released by a sale's gift-card redemptions, if configured."""
    redeemed = sum(t.amount for t in tenders if t.method is TenderMethod.GIFT_CARD)
    rate = ctx.rules.gift_card_breakage_rate
    if redeemed and rate:
        ctx.post(
            payment_posting.breakage(
                currency,
                channel,
                redeemed,
                rate,
                ctx.rules.posting,
                on,
                ctx.source("breakage", key),
            )
        )


def payment_reported(event: PaymentReported, ctx: ApplyContext) -> None:
    """A gateway reports a payment: enrich the receipt the order left, or record a new one."""
    r = event.receipt
    gateway = ctx.rules.gateway(r.gateway)
    status = status_of(event.status)
    receipt_id = r.receipt_id or f"{gateway}:{r.transaction_id}"
    known: StoredReceipt | None = None
    if r.transaction_id:
        known = ctx.uow.payments.find(gateway, r.transaction_id)
    order = event.order
    if order is None and event.against:  # a refund names its charge; the charge its order
        charge = ctx.uow.payments.find(gateway, event.against)
        order = charge.order if charge else None
    if known is None and order is not None and r.transaction_id:
        known = _unconfirmed(ctx, gateway, order.id, r)
    if known is not None:
        receipt_id = known.receipt.receipt_id
    order_ref = order.id if order else r.order_ref
    receipt = ExpectedReceipt(
        gateway,
        r.kind,
        r.amount,
        r.currency,
        r.occurred_at,
        r.transaction_id,
        order_ref,
        receipt_id,
    )
    ctx.uow.payments.record(
        receipt, order or (known.order if known else None), status, ctx.inbox_id, ctx.now
    )
    if r.kind in (PaymentKind.CHARGEBACK, PaymentKind.CHARGEBACK_REVERSAL) and status == "expected":
        ctx.post(
            payment_posting.chargeback(
                receipt,
                ctx.rules.posting,
                ctx.day(r.occurred_at),
                ctx.source("dispute", receipt_id),
            )
        )


def _unconfirmed(
    ctx: ApplyContext, gateway: str, order_id: str, r: ExpectedReceipt
) -> StoredReceipt | None:
    """The order's receipt this gateway report is about, when the order did not know the
    gateway's id: a capture recorded without one, or a refund the channel recorded under its
    own transaction id (Shopify's id for a refund Stripe calls ``re_…``). A receipt that
    already carries an id of the gateway's own family (``re_…``) is another payment."""
    for candidate in ctx.uow.payments.for_order(gateway, order_id, r.kind):
        txn = candidate.receipt.transaction_id
        if txn is None and r.kind is PaymentKind.CAPTURE:
            return candidate
        if candidate.receipt.amount == r.amount and (txn is None or not _same_family(txn, r)):
            return candidate
    return None


def _reported_first(
    ctx: ApplyContext, gateway: str, order_id: str, kind: PaymentKind, amount: int | None = None
) -> bool:
    """A gateway report of this order's payment arrived before the order's own fact."""
    return any(
        c.receipt.receipt_id.startswith(f"{gateway}:")
        and (amount is None or c.receipt.amount == amount)
        for c in ctx.uow.payments.for_order(gateway, order_id, kind)
    )


def _same_family(txn: str, r: ExpectedReceipt) -> bool:
    """``re_1`` and ``re_2`` are both Stripe refunds; ``179259969`` is someone else's id."""
    reported = r.transaction_id or ""
    return "_" in txn and "_" in reported and txn.split("_")[0] == reported.split("_")[0]


def _expect(ctx: ApplyContext, receipt: ExpectedReceipt, order: ExternalRef) -> None:
    ctx.uow.payments.record(receipt, order, "expected", ctx.inbox_id, ctx.now)
