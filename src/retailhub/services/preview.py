"""What a delivery would post, without posting it (``retailhub ledger preview EVENT_FILE``).

The delivery goes through the same translation and the same handlers as a real one, against
the current books (a refund previews against its real order), inside a transaction that is
always rolled back. Every journal entry the handlers hand to the ledger is recorded on its way
— including entries a daily-summary channel would hold for its day's summary — so the preview
is the real posting logic's output, not a second implementation of it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.problems import Blocked, Problem, Waiting
from retailhub.services.handlers import apply_event
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.ports import LedgerRepository, UnitOfWork, WebhookSource
from retailhub.services.rules import HubRules


@dataclass(frozen=True, slots=True)
class PreviewedEntry:
    entry: JournalEntry
    held_for_summary: bool  # a daily-summary channel: posted with the day's summary


@dataclass(slots=True)
class Preview:
    topic: str
    entries: list[PreviewedEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # advisory ones, recorded on apply
    blocked: Problem | None = None  # the delivery would go to the exception queue instead
    waiting_on: str | None = None  # the delivery would wait for this record first

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "would_post": not self.blocked and not self.waiting_on,
            "blocked": _problem(self.blocked) if self.blocked else None,
            "waiting_on": self.waiting_on,
            "problems": [_problem(p) for p in self.problems],
            "entries": [_entry(e) for e in self.entries],
        }


class _RecordingLedger:
    """The unit of work's ledger, recording every entry handed to it on the way through."""

    def __init__(self, inner: LedgerRepository, preview: Preview) -> None:
        self._inner = inner
        self._preview = preview

    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        self._preview.entries.append(PreviewedEntry(entry, False))
        return self._inner.post(entry, inbox_id, at)

    def stage(
        self,
        entry: JournalEntry,
        channel: str,
        location: str | None,
        inbox_id: int | None,
        at: datetime,
    ) -> bool:
        self._preview.entries.append(PreviewedEntry(entry, True))
        return self._inner.stage(entry, channel, location, inbox_id, at)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _PreviewUnitOfWork:
    """Delegates to the real unit of work except for the recording ledger."""

    def __init__(self, inner: UnitOfWork, ledger: _RecordingLedger) -> None:
        self._inner = inner
        self.ledger = ledger

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def preview_delivery(
    uow_factory: Callable[[], AbstractContextManager[UnitOfWork]],
    source: WebhookSource,
    topic: str,
    body: bytes,
    rules: HubRules,
    now: datetime,
) -> Preview:
    """Apply one delivery in a transaction that is rolled back; return what it would post."""
    preview = Preview(topic)
    event = source.translate(topic, body)
    if isinstance(event, Problem):
        preview.blocked = event
        return preview
    with uow_factory() as uow:  # never committed: leaving the block rolls everything back
        proxy = _PreviewUnitOfWork(uow, _RecordingLedger(uow.ledger, preview))
        ctx = ApplyContext(proxy, rules, None, "preview", now)
        try:
            apply_event(event, ctx)
        except Waiting as wait:
            preview.waiting_on = wait.dependency
            preview.entries.clear()
        except Blocked as blocked:
            preview.blocked = blocked.problem
            preview.entries.clear()
        preview.problems = list(ctx.problems)
    return preview


def _problem(p: Problem) -> dict[str, Any]:
    return {"type": p.type.value, "reason": p.reason, "blocking": p.blocking}


def _entry(e: PreviewedEntry) -> dict[str, Any]:
    entry = e.entry
    return {
        "key": entry.key,
        "date": _iso(entry.entry_date),
        "memo": entry.memo,
        "rule": entry.rule,
        "rule_version": entry.rule_version,
        "held_for_daily_summary": e.held_for_summary,
        "lines": [_line(line) for line in entry.lines],
        "debits": sum(line.debit for line in entry.lines),
        "credits": sum(line.credit for line in entry.lines),
    }


def _line(line: JournalLine) -> dict[str, Any]:
    return {
        "account": line.account,
        "debit": line.debit,
        "credit": line.credit,
        "currency": line.currency,
        "memo": line.memo,
        "channel": line.channel,
        "location": line.location,
        "brand": line.brand,
    }


def _iso(d: date) -> str:
    return d.isoformat()
