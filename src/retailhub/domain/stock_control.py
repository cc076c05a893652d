"""Stock moved and counted by the stores themselves: transfers and cycle counts.

A transfer takes goods off the shelf at the sending location and holds them in transit at the
receiving one (where a channel may count them, ``include_in_transit``) until they arrive; what
does not arrive is shrink in transit. A cycle count replaces on hand with what was counted and
books the difference, with its reason, as an adjustment at cost; the counts kept are how
inventory accuracy is measured.

Value follows the goods: shipping moves it from inventory at the sender to inventory in
transit at the receiver; receiving moves it back into inventory there; a shortfall and a count
difference go to inventory adjustments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from retailhub.domain.ledger import EntryBuilder, JournalEntry, SourceRef
from retailhub.domain.posting import PostingPolicy
from retailhub.domain.posting_rules import TxType


@dataclass(frozen=True, slots=True)
class Transfer:
    reference: str
    sku: str
    source: str
    destination: str
    quantity: int
    shipped_at: datetime
    received: int | None = None  # units that arrived, once received
    received_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.received is None


@dataclass(frozen=True, slots=True)
class CycleCount:
    sku: str
    location: str
    counted: int
    expected: int  # on hand in the books when counted
    reason: str
    counted_at: datetime
    reference: str

    @property
    def difference(self) -> int:
        return self.counted - self.expected

    @property
    def accurate(self) -> bool:
        return self.counted == self.expected


def inventory_accuracy(counts: list[CycleCount]) -> float | None:
    """Share of counts where the books were right (the retail KPI), None without counts."""
    if not counts:
        return None
    return sum(1 for c in counts if c.accurate) / len(counts)


def shipped_entry(
    t: Transfer, unit_cost: int, currency: str, policy: PostingPolicy, on: date
) -> JournalEntry | None:
    rule = policy.rule(TxType.TRANSFER, on)
    acc = rule.accounts
    b = EntryBuilder(currency)
    value = t.quantity * unit_cost
    b.debit(acc.inventory_in_transit, value, t.sku, location=t.destination)
    b.credit(acc.inventory, value, t.sku, location=t.source)
    memo = f"Transfer {t.reference}: {t.quantity} {t.sku} {t.source} → {t.destination}"
    return rule.finish(b.build(on, memo, SourceRef("transfer", t.reference), "shipped"))


def received_entry(
    t: Transfer, received: int, unit_cost: int, currency: str, policy: PostingPolicy, on: date
) -> JournalEntry | None:
    rule = policy.rule(TxType.TRANSFER, on)
    acc = rule.accounts
    b = EntryBuilder(currency, location=t.destination)
    b.debit(acc.inventory, received * unit_cost, t.sku)
    b.debit(acc.inventory_adjustments, (t.quantity - received) * unit_cost, "shrink in transit")
    b.credit(acc.inventory_in_transit, t.quantity * unit_cost, t.sku)
    memo = f"Transfer {t.reference} received: {received} of {t.quantity} {t.sku}"
    return rule.finish(b.build(on, memo, SourceRef("transfer", t.reference), "received"))


def count_entry(
    c: CycleCount, unit_cost: int, currency: str, policy: PostingPolicy, on: date
) -> JournalEntry | None:
    rule = policy.rule(TxType.INVENTORY_ADJUSTMENT, on)
    acc = rule.accounts
    b = EntryBuilder(currency, location=c.location)
    value = c.difference * unit_cost
    b.debit(acc.inventory, value, c.sku)
    b.credit(acc.inventory_adjustments, value, c.reason)
    memo = f"Cycle count of {c.sku} at {c.location}: {c.counted} counted, {c.expected} booked"
    return rule.finish(b.build(on, memo, SourceRef("count", c.reference), "count"))
