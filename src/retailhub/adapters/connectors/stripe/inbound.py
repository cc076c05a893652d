"""Stripe webhook events → canonical inbound events.

``translate(topic, body, api)`` decodes the raw bytes into the typed shapes of ``payloads``
and maps them: captures, refunds and disputes become ``PaymentReported`` (the receipts the
reconciliation expects to see in a payout), a paid payout becomes ``SettlementReported`` with
its balance transactions fetched through ``api``. A data problem raises ``PayloadError`` whose
message names the JSON path (msgspec's ``$.data.object.amount``); ``webhook`` turns every
exception into a ``Problem`` for the exception queue.

Signs follow ``ExpectedReceipt``: + capture / dispute won, − refund / dispute. Amounts are
Stripe integers rescaled to hub minor units by ``amounts`` (equal for all but ISK and MGA).
Some events move no money and map to an empty ``EventsReported``: an authorisation not yet
captured, a dispute that is only an inquiry, a dispute lost (its funds were already withdrawn
when it opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import msgspec

from retailhub.adapters.connectors.stripe import amounts
from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.errors import (
    ApiRequired,
    PayloadError,
    UnknownTopic,
)
from retailhub.adapters.connectors.stripe.settlement import (
    GATEWAY,
    REVERSAL_SUFFIX,
    manual_payout,
)
from retailhub.domain.events import (
    EventsReported,
    InboundEvent,
    PaymentReported,
    SettlementReported,
)
from retailhub.domain.money import MoneyError
from retailhub.domain.orders import ExternalRef
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.settlements import Settlement

__all__ = ["TOPICS", "PayloadError", "StripeReader", "UnknownTopic", "translate"]

CAPTURES = frozenset({"charge.succeeded", "charge.captured"})
CHARGE_REFUNDED = "charge.refunded"
REFUNDS = frozenset({"refund.created", "refund.updated", "charge.refund.updated"})
DISPUTES_OPENED = frozenset({"charge.dispute.created", "charge.dispute.funds_withdrawn"})
DISPUTES_WON = frozenset({"charge.dispute.closed", "charge.dispute.funds_reinstated"})
PAYOUTS = frozenset({"payout.paid", "payout.reconciliation_completed"})
TOPICS: frozenset[str] = (
    CAPTURES | {CHARGE_REFUNDED} | REFUNDS | DISPUTES_OPENED | DISPUTES_WON | PAYOUTS
)

# Metadata keys the storefront sets on the PaymentIntent / Charge to name its order.
ORDER_ID_KEY = "order_id"
ORDER_SOURCE_KEY = "order_source"
DEFAULT_ORDER_SOURCE = "shopify"

# A PaymentReported for money that has moved; the dispute's own status (needs_response, won, …)
# is not a payment status, so disputes report this.
MOVED = "succeeded"

NOTHING = EventsReported(events=())


class StripeReader(Protocol):
    """What translation needs from the Stripe API (``StripeApi`` implements it)."""

    def settlement_for_payout(self, payout_id: str) -> Settlement: ...

    def charge_refunds(self, charge_id: str) -> list[p.Refund]: ...


_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {
    shape: msgspec.json.Decoder(p.Event[shape])  # type: ignore[valid-type]
    for shape in (p.Charge, p.Refund, p.Dispute, p.Payout)
}


def translate(topic: str, body: bytes, api: StripeReader | None = None) -> InboundEvent:
    """Map one event (its ``type`` and raw body) to a canonical event.

    Raises ``UnknownTopic`` / ``PayloadError`` for the body, ``ApiRequired`` when the event
    needs an API call and ``api`` is None, ``SettlementError`` for a payout that does not add
    up, and the connector kit's ``ConnectorError`` family when Stripe cannot be reached.
    """
    if topic not in TOPICS:
        raise UnknownTopic(f"unknown Stripe event type {topic!r}")
    try:
        if topic in CAPTURES:
            return _capture(_decode(topic, body, p.Charge))
        if topic == CHARGE_REFUNDED:
            return _charge_refunded(_decode(topic, body, p.Charge), api)
        if topic in REFUNDS:
            event: p.Event[Any] = _decode(topic, body, p.Refund)
            return _refund(event.data.object, event.created, "$.data.object", {})
        if topic in DISPUTES_OPENED or topic in DISPUTES_WON:
            return _dispute(topic, _decode(topic, body, p.Dispute))
        return _payout(_decode(topic, body, p.Payout), api)
    except MoneyError as exc:
        raise PayloadError(f"invalid {topic} body: {exc}") from None


def _decode(topic: str, body: bytes, shape: type[Any]) -> Any:
    try:
        return _DECODERS[shape].decode(body)
    except msgspec.ValidationError as exc:  # "... - at `$.data.object.amount`"
        raise PayloadError(f"invalid {topic} body: {exc}") from None
    except msgspec.DecodeError as exc:
        message = str(exc)
        if "truncated" in message:  # msgspec gives no position for truncation: it is the end
            message = f"{message} (byte {len(body)})"
        raise PayloadError(f"{topic} body is not valid JSON: {message}") from None


# -- charges ---------------------------------------------------------------------------------


def _capture(event: p.Event[p.Charge]) -> InboundEvent:
    charge = event.data.object
    if not (charge.captured and charge.status == "succeeded"):
        # charge.succeeded also fires for an authorisation (captured: false): nothing is owed
        # until charge.captured. A pending or failed charge moves no money either.
        return NOTHING
    where = "$.data.object"
    currency = _currency(charge.currency, f"{where}.currency")
    captured = charge.amount if charge.amount_captured is None else charge.amount_captured
    receipt = ExpectedReceipt(
        gateway=GATEWAY,
        kind=PaymentKind.CAPTURE,
        amount=_minor(captured, currency, f"{where}.amount_captured"),
        currency=currency,
        occurred_at=_utc(charge.created),
        transaction_id=charge.id,
        order_ref=charge.metadata.get(ORDER_ID_KEY),
        receipt_id=f"{GATEWAY}:{charge.id}",
    )
    return PaymentReported(receipt, _order(charge.metadata), _utc(event.created), charge.status)


def _charge_refunded(event: p.Event[p.Charge], api: StripeReader | None) -> InboundEvent:
    """``charge.refunded`` carries the whole charge; its refunds only up to API 2022-11-15.

    From version 2022-11-15 "the Charge object no longer auto-expands refunds"
    (docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand), and an embedded list
    stops at 10 with ``has_more``. The refunds are then listed through the API.
    """
    charge = event.data.object
    listed = charge.refunds
    if listed is not None and not listed.has_more:
        refunds = [(r, f"$.data.object.refunds.data[{i}]") for i, r in enumerate(listed.data)]
    elif api is None:
        raise ApiRequired(
            f"charge.refunded for {charge.id} does not list all its refunds (Stripe stopped "
            "embedding refunds in charges at API version 2022-11-15): configure a Stripe API "
            "key so they can be fetched, or subscribe to refund.created / refund.updated"
        )
    else:
        fetched = api.charge_refunds(charge.id)
        refunds = [
            (r, f"GET /v1/refunds?charge={charge.id} data[{i}]") for i, r in enumerate(fetched)
        ]
    events = tuple(_refund(r, event.created, where, charge.metadata) for r, where in refunds)
    return events[0] if len(events) == 1 else EventsReported(events)


def _refund(
    refund: p.Refund, event_created: int, where: str, charge_metadata: Mapping[str, str]
) -> PaymentReported:
    currency = _currency(refund.currency, f"{where}.currency")
    metadata = {**charge_metadata, **(refund.metadata or {})}
    receipt = ExpectedReceipt(
        gateway=GATEWAY,
        kind=PaymentKind.REFUND,
        amount=-_minor(refund.amount, currency, f"{where}.amount"),
        currency=currency,
        occurred_at=_utc(refund.created),
        transaction_id=refund.id,
        order_ref=metadata.get(ORDER_ID_KEY),
        receipt_id=f"{GATEWAY}:{refund.id}",
    )
    # Only ``succeeded`` refunds reach a payout; pending / failed / canceled pass through so a
    # later refund.updated can supersede them (the event's ``created`` orders the reports).
    return PaymentReported(
        receipt, _order(metadata), _utc(event_created), refund.status or "unknown", refund.charge
    )


# -- disputes --------------------------------------------------------------------------------


def _dispute(topic: str, event: p.Event[p.Dispute]) -> InboundEvent:
    """Disputes move money twice: funds withdrawn when opened, reinstated when won.

    Statuses ``warning_*`` are inquiries and early fraud warnings that withdraw nothing
    (docs.stripe.com/disputes, "Inquiries"); a lost dispute keeps what was withdrawn.
    """
    dispute = event.data.object
    if dispute.status.startswith("warning_"):
        return NOTHING
    won = topic in DISPUTES_WON
    if topic == "charge.dispute.closed" and dispute.status != "won":
        return NOTHING
    where = "$.data.object"
    currency = _currency(dispute.currency, f"{where}.currency")
    amount = _minor(dispute.amount, currency, f"{where}.amount")
    charge = dispute.charge if isinstance(dispute.charge, p.Charge) else None
    metadata = charge.metadata if charge is not None else {}
    transaction_id = dispute.id + REVERSAL_SUFFIX if won else dispute.id
    receipt = ExpectedReceipt(
        gateway=GATEWAY,
        kind=PaymentKind.CHARGEBACK_REVERSAL if won else PaymentKind.CHARGEBACK,
        amount=amount if won else -amount,
        currency=currency,
        # Withdrawn when the dispute opens; reinstated when this event says so.
        occurred_at=_utc(event.created if won else dispute.created),
        transaction_id=transaction_id,
        order_ref=metadata.get(ORDER_ID_KEY),
        receipt_id=f"{GATEWAY}:{transaction_id}",
    )
    charge_id = charge.id if charge is not None else str(dispute.charge)
    return PaymentReported(receipt, _order(metadata), _utc(event.created), MOVED, charge_id)


# -- payouts ---------------------------------------------------------------------------------


def _payout(event: p.Event[p.Payout], api: StripeReader | None) -> InboundEvent:
    payout = event.data.object
    if not payout.automatic:
        raise manual_payout(payout.id)
    if api is None:
        raise ApiRequired(
            f"payout {payout.id} was paid but no Stripe API key is configured to fetch its "
            "balance transactions: add the secret (or a restricted read-only) key to the "
            "stripe connector and retry"
        )
    return SettlementReported(api.settlement_for_payout(payout.id))


# -- helpers ---------------------------------------------------------------------------------


def _order(metadata: Mapping[str, str]) -> ExternalRef | None:
    order_id = metadata.get(ORDER_ID_KEY)
    if not order_id:
        return None
    return ExternalRef(metadata.get(ORDER_SOURCE_KEY, DEFAULT_ORDER_SOURCE), order_id)


def _currency(code: str, where: str) -> str:
    try:
        return amounts.currency_code(code)
    except MoneyError as exc:
        raise PayloadError(f"{exc} at `{where}`") from None


def _minor(amount: int, currency: str, where: str) -> int:
    try:
        return amounts.to_minor(amount, currency)
    except MoneyError as exc:
        raise PayloadError(f"{exc} at `{where}`") from None


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)
