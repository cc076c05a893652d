"""Returns and refunds, always linked to the original order line.

A refund line says how many units of which original line are refunded and what happens to
the goods (disposition) and where they were received; the refund's tenders say how the money
went back. The books are computed in the original sale's context (its tax rates and cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from retailhub.domain.orders import ExternalRef


class Disposition(StrEnum):
    RESTOCK = "restock"  # back on the shelf, sellable
    DAMAGED = "damaged"  # received but written off
    QUARANTINE = "quarantine"  # received, held for inspection, not sellable
    NOT_RETURNED = "not_returned"  # refund only, goods stay with the customer
    CANCEL = "cancel"  # never shipped: the unfulfilled units are cancelled


class RefundMethod(StrEnum):
    ORIGINAL_TENDER = "original_tender"
    STORE_CREDIT = "store_credit"
    GIFT_CARD = "gift_card"
    CASH = "cash"


@dataclass(frozen=True, slots=True)
class RefundLine:
    line_id: str
    quantity: int
    disposition: Disposition
    location: ExternalRef | None
    subtotal: int  # as the channel computed it (after discounts), for cross-checking
    tax: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RefundTender:
    transaction_id: str
    gateway: str
    amount: int
    method: RefundMethod


@dataclass(frozen=True, slots=True)
class Refund:
    refund_id: str
    order_id: str
    occurred_at: datetime
    lines: tuple[RefundLine, ...]
    tenders: tuple[RefundTender, ...]
    shipping: int = 0  # shipping refunded, excluding its tax
    shipping_tax: int = 0
    discrepancy: int = 0  # channel's own "refund_discrepancy" adjustment (informational)
    note: str | None = None
    return_id: str | None = None
    register: str | None = None  # the till that paid a store refund out

    @property
    def refunded_to_customer(self) -> int:
        return sum(t.amount for t in self.tenders)
