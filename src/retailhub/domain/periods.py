"""Closed accounting periods, and where an entry dated inside one goes instead.

Once finance closes a month its figures are final: the trial balance reported for it must
never change again. Anything that arrives later and belongs to it (a refund Shopify dated the
28th, delivered on the 2nd; a reversal of one of its entries) is still booked, in full and with
the same lines, but dated on the first day that is not closed, with a memo saying where it
belongs. That is the accounting rule "a closed period is corrected in the open period", and
it keeps the books complete without reopening the month.

    closed: 2026-10-01..2026-10-31, 2026-11-01..2026-11-30
    open_date(2026-10-12) = 2026-12-01   (October is closed, and so is November)
    open_date(2026-12-05) = 2026-12-05
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

_DAY = timedelta(days=1)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


@dataclass(frozen=True, slots=True)
class ClosedPeriod:
    """One closed period: ``period`` is its name (``2026-11``); ``start`` and ``end`` are the
    first and the last day in it (both inclusive)."""

    period: str
    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"closed period {self.period}: ends {self.end} before {self.start}")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @classmethod
    def month(cls, period: str) -> ClosedPeriod:
        """The calendar month ``YYYY-MM``; ValueError for anything else."""
        match = _MONTH.fullmatch(period.strip())
        if match is None:
            raise ValueError(f"period {period!r}: a month is closed, written YYYY-MM")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise ValueError(f"period {period!r}: no month {month}")
        start = date(year, month, 1)
        following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return cls(f"{year:04d}-{month:02d}", start, following - _DAY)


@dataclass(frozen=True, slots=True)
class Redated:
    """An entry date that fell in a closed period, and the open day it is posted on instead."""

    original: date
    posted_on: date
    period: ClosedPeriod  # the closed period the original date belongs to

    def memo(self, memo: str) -> str:
        """The entry's memo, saying where the entry belongs and why it is dated elsewhere."""
        return f"{memo} {late_note(self.period.period)}"


def late_note(period: str) -> str:
    return f"(belongs to closed period {period}; posted in the open period)"


class ClosedPeriods:
    """The set of closed periods; every question about a date is answered from it alone."""

    __slots__ = ("_periods",)

    def __init__(self, periods: Iterable[ClosedPeriod] = ()) -> None:
        self._periods = tuple(sorted(periods, key=lambda p: (p.start, p.end)))

    def __bool__(self) -> bool:
        return bool(self._periods)

    def __iter__(self) -> Iterator[ClosedPeriod]:
        return iter(self._periods)

    def __len__(self) -> int:
        return len(self._periods)

    def containing(self, day: date) -> ClosedPeriod | None:
        """The closed period ``day`` falls in, if any (the earliest-starting when they overlap)."""
        for period in self._periods:
            if period.start > day:
                break  # sorted by start: no later one can contain it
            if day <= period.end:
                return period
        return None

    def is_closed(self, day: date) -> bool:
        return self.containing(day) is not None

    def open_date(self, day: date) -> date:
        """``day`` if no closed period contains it, else the first day after the closed range
        that contains it, walking on while that day is closed too (adjacent closed months)."""
        period = self.containing(day)
        while period is not None:
            day = period.end + _DAY
            period = self.containing(day)
        return day

    def redate(self, day: date) -> Redated | None:
        """Where an entry dated ``day`` is posted instead; None when ``day`` is open."""
        period = self.containing(day)
        if period is None:
            return None
        return Redated(day, self.open_date(day), period)
