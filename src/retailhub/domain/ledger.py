"""The general ledger as immutable, balanced journal entries.

A line's ``amount`` is signed minor units: debit positive, credit negative. An entry balances
when the amounts sum to zero in every currency. Entries are never edited; a correction is a
reversing entry (``reverse``). Balances are folds over entries (``trial_balance``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date


class UnbalancedEntry(ValueError):
    """A bug: posting logic produced debits that do not equal credits."""


@dataclass(frozen=True, slots=True)
class JournalLine:
    account: str
    amount: int
    currency: str
    memo: str | None = None
    channel: str | None = None
    location: str | None = None
    brand: str | None = None

    @property
    def debit(self) -> int:
        return self.amount if self.amount > 0 else 0

    @property
    def credit(self) -> int:
        return -self.amount if self.amount < 0 else 0


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What caused an entry: a document kind and id, plus the inbound event that carried it."""

    kind: str  # "order", "fulfilment", "refund", "adjustment", ...
    document_id: str
    event: str | None = None  # e.g. "shopify:<event id>"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    entry_date: date
    memo: str
    source: SourceRef
    lines: tuple[JournalLine, ...]
    rule: str
    reverses: str | None = None  # idempotency key of the entry this one reverses
    # The posting rule (and rules-file version) that produced it, for audit: "web_sale@2026-01-01 v3".
    rule_version: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        residual = residuals(self.lines)
        if any(residual.values()):
            raise UnbalancedEntry(f"{self.memo}: residual {dict(residual)}")
        if not self.lines:
            raise UnbalancedEntry(f"{self.memo}: an entry needs lines")

    @property
    def key(self) -> str:
        """Idempotency key: one entry per (source document, rule)."""
        return f"{self.source.kind}:{self.source.document_id}:{self.rule}"

    @property
    def total_debits(self) -> int:
        return sum(line.debit for line in self.lines)


def residuals(lines: Iterable[JournalLine]) -> Mapping[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in lines:
        totals[line.currency] += line.amount
    return totals


@dataclass(slots=True)
class EntryBuilder:
    """Collects debits and credits; ``build`` merges lines per account/dimensions and checks balance."""

    currency: str
    channel: str | None = None
    location: str | None = None
    _amounts: dict[tuple[str, str | None, str | None, str | None, str | None], int] = field(
        default_factory=dict
    )

    def debit(self, account: str, amount: int, memo: str | None = None, **dims: str | None) -> None:
        self._add(account, amount, memo, dims)

    def credit(
        self, account: str, amount: int, memo: str | None = None, **dims: str | None
    ) -> None:
        self._add(account, -amount, memo, dims)

    def _add(
        self, account: str, amount: int, memo: str | None, dims: dict[str, str | None]
    ) -> None:
        if amount == 0:
            return
        key = (
            account,
            memo,
            dims.get("location", self.location),
            dims.get("channel", self.channel),
            dims.get("brand"),
        )
        self._amounts[key] = self._amounts.get(key, 0) + amount

    def build(
        self, entry_date: date, memo: str, source: SourceRef, rule: str
    ) -> JournalEntry | None:
        lines = tuple(
            JournalLine(
                account, amount, self.currency, memo=line_memo, location=loc, channel=ch, brand=br
            )
            for (account, line_memo, loc, ch, br), amount in self._amounts.items()
            if amount != 0
        )
        if not lines:
            return None
        return JournalEntry(entry_date, memo, source, lines, rule)


def reverse(entry: JournalEntry, on: date, reason: str) -> JournalEntry:
    """The correcting entry: every line negated, pointing at the original."""
    lines = tuple(
        JournalLine(
            line.account,
            -line.amount,
            line.currency,
            line.memo,
            line.channel,
            line.location,
            line.brand,
        )
        for line in entry.lines
    )
    return JournalEntry(
        on,
        f"Reversal of {entry.memo}: {reason}",
        entry.source,
        lines,
        f"{entry.rule}:reversal",
        reverses=entry.key,
    )


def trial_balance(entries: Iterable[JournalEntry]) -> dict[tuple[str, str], int]:
    """Net signed balance per (account, currency), from the entries alone."""
    balances: dict[tuple[str, str], int] = defaultdict(int)
    for entry in entries:
        for line in entry.lines:
            balances[(line.account, line.currency)] += line.amount
    return dict(balances)
