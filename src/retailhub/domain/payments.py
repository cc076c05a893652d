"""Payments the hub knows about, each of which should show up in a settlement.

Every capture, refund and chargeback creates an expected receipt: a signed amount the
gateway owes (or takes back). The gateway's own transaction id is kept when known (Stripe's
``ch_…``, Square's payment id, a Shopify refund transaction's id); otherwise the receipt is
identified by the order it belongs to and matched on amount and date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class PaymentKind(StrEnum):
    CAPTURE = "capture"
    REFUND = "refund"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REVERSAL = "chargeback_reversal"


class TenderMethod(StrEnum):
    CARD = "card"
    CASH = "cash"
    GIFT_CARD = "gift_card"
    WALLET = "wallet"  # Apple Pay, Google Pay, Cash App Pay, …
    STORE_CREDIT = "store_credit"
    OTHER = "other"


def gateway_key(name: str | None) -> str:
    """One spelling per gateway: "Shopify Payments" and "shopify-payments" → "shopify_payments"."""
    return "_".join((name or "unknown").strip().lower().replace("-", " ").split())


# Gateways that never settle through a payout file: nothing to reconcile for them.
UNSETTLED_GATEWAYS: frozenset[str] = frozenset(
    {"cash", "gift_card", "store_credit", "manual", "exchange", "unknown"}
)

# Tenders that never pass through a gateway's settlement: nothing to reconcile.
UNSETTLED_METHODS: frozenset[TenderMethod] = frozenset(
    {TenderMethod.CASH, TenderMethod.GIFT_CARD, TenderMethod.STORE_CREDIT}
)


@dataclass(frozen=True, slots=True)
class Tender:
    """One way an order was paid: a split-tender POS sale has several."""

    method: TenderMethod
    gateway: str  # "square", "stripe", "cash", "gift_card", …
    amount: int  # minor units in the order currency
    transaction_id: str | None = None
    gift_card: str | None = None  # the card's number or id when the tender is a gift card


@dataclass(frozen=True, slots=True)
class ExpectedReceipt:
    gateway: str
    kind: PaymentKind
    amount: int  # signed minor units: + capture / reversal won, − refund / chargeback
    currency: str
    occurred_at: datetime
    transaction_id: str | None = None
    order_ref: str | None = None  # the channel's order id (what gateways call a reference)
    receipt_id: str = ""  # our own key for the receipt, unique across the hub
