"""Daily-summary posting: a channel's entries for one store and business day, posted as one.

Channels configured with ``posting = "daily_summary"`` (typically store POS) have their
entries held (``stage``) as they are applied, each still once per idempotency key. Summarising
posts, per channel, store and day, one entry whose lines are the held entries' lines added up
per account, currency and dimensions. A late batch for a day already summarised becomes a
second summary entry for that day (``…:2``), never an edit of the first. Either way the trial
balance is the same as with transaction-level postings, line for line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.services.ports import UnitOfWork

Clock = Callable[[], datetime]
Group = tuple[str, str | None, date]  # channel, store, business day
Dims = tuple[str, str, str | None, str | None, str | None]  # account, currency, dimensions


@dataclass(frozen=True, slots=True)
class SummaryResult:
    entries: int
    staged: int


def summarise(uow: UnitOfWork, now: datetime, through: date | None = None) -> SummaryResult:
    """Post every held entry dated up to ``through`` (all when None); the caller commits."""
    ledger = uow.ledger
    groups: dict[Group, dict[Dims, int]] = defaultdict(lambda: defaultdict(int))
    members: dict[Group, set[int]] = defaultdict(set)
    for staged_id, channel, day, location, line in ledger.staged_open():
        if through is not None and day > through:
            continue
        key = (channel, location, day)
        dims: Dims = (line.account, line.currency, line.channel, line.location, line.brand)
        groups[key][dims] += line.amount
        members[key].add(staged_id)
    posted = 0
    for (channel, location, day), sums in sorted(groups.items(), key=_order):
        lines = tuple(
            JournalLine(account, amount, currency, None, ch, loc, brand)
            for (account, currency, ch, loc, brand), amount in sorted(sums.items(), key=repr)
            if amount
        )
        store = location or "all"
        prefix = f"summary:{channel}:{store}:{day.isoformat()}:"
        n = ledger.summaries_posted(prefix) + 1
        document = f"{channel}:{store}:{day.isoformat()}"
        if lines:
            entry = JournalEntry(
                day,
                f"Daily summary {channel} {store} {day.isoformat()}"
                + (f" (supplement {n})" if n > 1 else ""),
                SourceRef("summary", document, None),
                lines,
                str(n),
            )
            ledger.post(entry, None, now)
            posted += 1
        ledger.mark_summarised(sorted(members[(channel, location, day)]), prefix + str(n))
    return SummaryResult(posted, sum(len(m) for m in members.values()))


def _order(item: tuple[Group, object]) -> tuple[str, str, date]:
    (channel, location, day), _ = item
    return (channel, location or "", day)
