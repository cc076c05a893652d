"""The business KPIs the seed names, as a current value and a daily series for charts.

Inventory accuracy, order latency (event time to posted), refund turnaround, settlement match
rate, exception resolution time and the count of manual journals. The storage adapter
(``adapters.storage.kpi_queries.SqlKpiSamples``) hands over raw samples; this module only does
the arithmetic, so it is the same on every database. These are operational measures (shares
and durations), never money, so plain floats are fine here.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple, Protocol

# Journal entries a person decided on, rather than a channel event posted by rule
# (journal_entries.source_kind; "count" is domain/stock_control.py's cycle-count adjustment).
MANUAL_JOURNAL_KINDS = frozenset({"adjustment", "count", "manual", "writeoff", "write_off"})


class Sample(NamedTuple):
    at: datetime  # when the measured thing finished (posted, resolved, counted, run)
    value: float  # 1/0 for a share, seconds for a duration, 1 for a count


class KpiSamples(Protocol):
    def count_accuracy(self, since: datetime) -> list[Sample]: ...
    def order_latency(self, since: datetime) -> list[Sample]: ...
    def refund_turnaround(self, since: datetime) -> list[Sample]: ...
    def match_rate(self, since: datetime) -> list[Sample]: ...
    def exception_resolution(self, since: datetime) -> list[Sample]: ...
    def manual_journals(self, since: datetime) -> list[Sample]: ...


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    title: str
    unit: str  # "%", "seconds" or "count"
    value: float | None  # over the whole window; None when nothing was measured
    samples: int  # how many things were measured (orders posted, counts taken, …)
    series: list[tuple[date, float | None]]  # one point a day, oldest first
    meaning: str

    def shown(self) -> str:
        """The value as a person reads it."""
        return format_value(self.value, self.unit)


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "count":
        return str(int(value))
    return duration(value)


def duration(seconds: float) -> str:
    """``95`` → ``1 min 35 s``; durations up to days stay readable."""
    s = round(seconds)
    sign, s = ("-", -s) if s < 0 else ("", s)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    if minutes:
        return f"{sign}{minutes} min {secs} s"
    return f"{sign}{secs} s"


def share(values: list[float]) -> float | None:
    return 100.0 * sum(values) / len(values) if values else None


def median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def count(values: list[float]) -> float | None:
    return float(len(values))


def latest(values: list[float]) -> float | None:
    return 100.0 * values[-1] if values else None


Aggregate = Callable[[list[float]], float | None]


def daily(
    samples: list[Sample], first: date, days: int, aggregate: Aggregate
) -> list[tuple[date, float | None]]:
    """One point per calendar day (UTC) from ``first``; samples must be in time order for
    ``latest``."""
    by_day: dict[date, list[float]] = {}
    for s in samples:
        by_day.setdefault(s.at.date(), []).append(s.value)
    out: list[tuple[date, float | None]] = []
    for n in range(days):
        day = first + timedelta(days=n)
        values = by_day.get(day, [])
        out.append((day, aggregate(values) if values or aggregate is count else None))
    return out


# key, title, unit, reader, aggregate, what it means
_DEFINITIONS: tuple[tuple[str, str, str, str, Aggregate, str], ...] = (
    ("inventory_accuracy", "Inventory accuracy", "%", "count_accuracy", share,
     "share of cycle counts that found the books right"),
    ("order_latency", "Order latency", "seconds", "order_latency", median,
     "median time from an order's event time to its first posted journal entry"),
    ("refund_turnaround", "Refund turnaround", "seconds", "refund_turnaround", median,
     "median time from a refund being created to its posting"),
    ("settlement_match_rate", "Settlement match rate", "%", "match_rate", latest,
     "matched share of matchable settlement lines in the latest reconciliation run"),
    ("exception_resolution", "Exception resolution time", "seconds", "exception_resolution",
     median, "median time from an exception being raised to its resolution"),
    ("manual_journals", "Manual journals", "count", "manual_journals", count,
     "journal entries posted by a person's decision (write-offs, count adjustments)"),
)  # fmt: skip


def compute(source: KpiSamples, now: datetime, days: int = 30) -> list[Kpi]:
    """Every KPI over the ``days`` days up to and including today (UTC)."""
    first = (now - timedelta(days=days - 1)).date()
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    out = []
    for key, title, unit, reader, aggregate, meaning in _DEFINITIONS:
        samples: list[Sample] = [s for s in getattr(source, reader)(since) if s.at >= since]
        values = [s.value for s in samples]
        out.append(
            Kpi(key, title, unit, aggregate(values), len(samples),
                daily(samples, first, days, aggregate), meaning)
        )  # fmt: skip
    return out
