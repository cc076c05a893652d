"""Settlements: what a gateway or marketplace actually paid out, line by line.

A settlement (a Stripe payout, an Amazon settlement period, an Adyen batch, a PayPal STL day,
a Shopify Payments payout) is a set of signed lines in the settlement currency, from the
merchant's side: a charge paid in is positive, a refund, fee, commission, chargeback or reserve
taken out is negative. What reaches the bank, ``total``, is the sum of the lines; a file whose
lines do not add up to its stated total is refused, because a silent gap here is exactly the
money finance cannot find at month end.

Every amount component of a source row is its own line (Amazon's one row per component; a
Stripe balance transaction's gross and fee become a CHARGE line and a FEE line with the same
``transaction_id``), so fees and commissions are never netted away inside a charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class LineKind(StrEnum):
    CHARGE = "charge"  # a customer payment paid out to the merchant
    REFUND = "refund"  # money returned to a customer
    CHARGEBACK = "chargeback"  # disputed payment withdrawn by the card network
    CHARGEBACK_REVERSAL = "chargeback_reversal"  # dispute won: the money comes back
    FEE = "fee"  # the gateway's processing fee (per transaction or periodic)
    COMMISSION = "commission"  # a marketplace's referral / selling fees
    RESERVE = "reserve"  # held back (negative) or released (positive) by the gateway
    ADJUSTMENT = "adjustment"  # anything else the gateway booked (corrections, top-ups, tax)


# Lines that mirror a payment the hub should already know about; the rest are recognised
# (fees, commissions, reserves, adjustments) and posted, but there is nothing to match them to.
MATCHABLE: frozenset[LineKind] = frozenset(
    {LineKind.CHARGE, LineKind.REFUND, LineKind.CHARGEBACK, LineKind.CHARGEBACK_REVERSAL}
)


@dataclass(frozen=True, slots=True)
class SettlementLine:
    gateway: str  # "stripe", "amazon", "adyen", "paypal", "shopify_payments", "square"
    settlement_id: str
    line_no: int  # the line in the source file (1-based), or the position in an API listing
    kind: LineKind
    amount: int  # signed minor units in the settlement currency: + paid in, − taken out
    currency: str
    occurred_at: datetime  # when the underlying transaction happened (UTC)
    transaction_id: str | None = None  # the gateway's id: ch_…, PSP reference, PayPal txn id
    order_ref: str | None = None  # the merchant's order reference, when the gateway gives one
    description: str = ""
    # What the customer paid, when the gateway converted it into the settlement currency
    # (Stripe's customer_facing_amount, Shopify Payments' Presentment Amount): signed like
    # ``amount``, in minor units of ``original_currency``. None when nothing was converted.
    original_amount: int | None = None
    original_currency: str | None = None

    @property
    def converted(self) -> bool:
        """The gateway paid this line out in another currency than the customer paid in."""
        return self.original_currency is not None and self.original_currency != self.currency

    @property
    def matchable(self) -> bool:
        return self.kind in MATCHABLE


@dataclass(frozen=True, slots=True)
class Settlement:
    gateway: str
    settlement_id: str
    currency: str
    total: int  # net amount deposited in the bank (negative when the merchant owes)
    deposit_date: date | None
    lines: tuple[SettlementLine, ...]
    period_start: datetime | None = None
    period_end: datetime | None = None

    @property
    def unexplained(self) -> int:
        """Stated total less the sum of the lines: zero for a settlement that adds up."""
        return self.total - sum(line.amount for line in self.lines)

    def by_kind(self) -> dict[LineKind, int]:
        sums: dict[LineKind, int] = {}
        for line in self.lines:
            sums[line.kind] = sums.get(line.kind, 0) + line.amount
        return sums
