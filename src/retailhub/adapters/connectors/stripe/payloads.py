"""Typed shapes of the Stripe objects we read: the event envelope, Charge, Refund, Dispute,
Payout and BalanceTransaction.

Only the fields the mappers read are declared; msgspec ignores the rest, so fields added in a
later API version never break decoding. Fields Stripe always sends are required, so a body
missing one fails with msgspec's path (``$.data.object.amount``). Amounts are integers in the
currency's smallest unit and currencies lower-case ISO codes (docs.stripe.com/api, "Charges",
"Refunds", "Disputes", "Payouts", "Balance transactions" object references, API version
2024-06-20); timestamps are Unix seconds. ``metadata`` is nullable on refunds and payouts.

The event envelope is generic over ``data.object`` so one decoder per object type reports
errors with their full path from the top of the body.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

Amount = Annotated[int, msgspec.Meta(ge=0)]  # unsigned in every object read here
Unix = Annotated[int, msgspec.Meta(ge=0, le=253402300799)]  # epoch seconds, up to 9999-12-31
Metadata = dict[str, str]
T = TypeVar("T")


class _Shape(msgspec.Struct, kw_only=True):
    """Base: keyword-only fields; unknown fields are ignored (msgspec's default)."""


class Head(_Shape):
    """The least of an event: enough to name it and route it without knowing its type."""

    id: str | None = None
    type: str | None = None


class EventData(_Shape, Generic[T]):
    object: T


class Event(_Shape, Generic[T]):
    """The Event object (docs.stripe.com/api/events/object): ``data.object`` is the resource
    as it was when the event happened, rendered in the endpoint's ``api_version``."""

    id: str
    type: str
    created: Unix
    data: EventData[T]
    api_version: str | None = None
    livemode: bool = False


class Refund(_Shape):
    id: str
    amount: Amount
    currency: str
    created: Unix
    status: str | None = None  # pending, requires_action, succeeded, failed, canceled
    charge: str | None = None
    payment_intent: str | None = None
    metadata: Metadata | None = None


class RefundList(_Shape):
    """``charge.refunds``: a sublist, embedded by default only before API version 2022-11-15
    (docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand)."""

    data: list[Refund]
    has_more: bool = False


class Charge(_Shape):
    id: str
    amount: Amount
    currency: str
    created: Unix
    status: str  # succeeded, pending, failed
    captured: bool = False
    # Added in API version 2020-08-27 (older bodies lack it: the whole amount was captured).
    amount_captured: Amount | None = None
    amount_refunded: Amount = 0
    payment_intent: str | None = None
    metadata: Metadata = {}
    refunds: RefundList | None = None


class Dispute(_Shape):
    id: str
    amount: Amount
    currency: str
    created: Unix
    # warning_needs_response, warning_under_review, warning_closed (inquiries: no funds move),
    # needs_response, under_review, won, lost.
    status: str
    charge: str | Charge  # an id, or the Charge when the event source expanded it
    reason: str | None = None
    payment_intent: str | None = None


class Payout(_Shape):
    id: str
    amount: int  # negative for a payout that debits the bank account
    currency: str
    arrival_date: Unix
    created: Unix
    status: str  # paid, pending, in_transit, canceled, failed
    automatic: bool = True
    reconciliation_status: str | None = None  # not_applicable, in_progress, completed
    method: str | None = None
    type: str | None = None


class Source(_Shape):
    """A balance transaction's ``source`` when listed with ``expand[]=data.source``."""

    id: str
    object: str | None = None
    metadata: Metadata | None = None
    charge: str | None = None  # on a refund or dispute source: the charge it belongs to
    # What the customer paid (charge, refund, dispute), in its own currency: differs from the
    # balance transaction's when Stripe converted it into the payout currency.
    amount: int | None = None
    amount_captured: int | None = None  # on a charge
    currency: str | None = None


class FeeDetail(_Shape):
    amount: int
    type: str  # stripe_fee, application_fee, tax, payment_method_passthrough_fee
    description: str | None = None


class BalanceTransaction(_Shape):
    """docs.stripe.com/api/balance_transactions/object: ``amount`` is gross and signed (+ in,
    − out), ``fee`` is "represented as a positive integer when assessed", ``net`` = amount − fee.
    """

    id: str
    amount: int
    fee: int
    net: int
    currency: str
    created: Unix
    type: str
    reporting_category: str = ""
    source: str | Source | None = None
    description: str | None = None
    fee_details: list[FeeDetail] = []
    status: str | None = None
