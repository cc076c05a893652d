"""The general ledger: journal entries posted once per idempotency key, never updated."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage import periods_repo
from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany
from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.exceptions_repo import SqlExceptionRepository
from retailhub.adapters.storage.ids import IdAllocator
from retailhub.adapters.storage.tables import (
    accounts,
    journal_entries,
    journal_lines,
    staged_entries,
    staged_lines,
)
from retailhub.domain.accounts import account_type
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.periods import Redated
from retailhub.domain.problems import Problem, ProblemType

_insert_lines = insert(journal_lines)
_insert_entries = insert(journal_entries)
_insert_staged = insert(staged_entries)
_insert_staged_lines = insert(staged_lines)
_LINE_COLUMNS = (
    "entry_id",
    "account",
    "amount",
    "currency",
    "memo",
    "channel",
    "location",
    "brand",
)


class _Late(NamedTuple):
    """An entry posted outside its closed period: the problem finance sees, and its origin."""

    problem: Problem
    source: str | None  # the channel whose delivery carried it ("shopify"), if any
    inbox_id: int | None
    at: datetime


def _late_problem(row: dict[str, Any], verdict: Redated) -> _Late:
    """``row`` is a buffered entry (still holding its line tuples, see ``post``)."""
    lines = row["lines"]
    store = next((line[6] for line in lines if line[6]), None)
    event = row["event"]
    problem = Problem(
        ProblemType.PERIOD_CLOSED,
        f"{row['key']} is dated {verdict.original}, in closed period "
        f"{verdict.period.period}: posted on {verdict.posted_on} instead",
        blocking=False,
        subject=f"journal:{row['key']}",
        amount=sum(line[2] for line in lines if line[2] > 0),  # its debits: what moved late
        store=store,
    )
    source = event.split(":", 1)[0] if event else None
    return _Late(problem, source, row["inbox_id"], row["posted_at"])


def _open_account(ins: Any) -> Any:
    return ins(accounts).on_conflict_do_nothing(index_elements=["account"])


class SqlLedgerRepository:
    """Entries are buffered until the batch commits; the unique key keeps them exactly-once."""

    def __init__(self, conn: Connection, buffer: WriteBuffer, ids: IdAllocator) -> None:
        self.conn = conn
        self.buffer = buffer
        self.ids = ids
        self._keys: set[str] = set()

    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        if entry.key in self._keys:
            return False
        self._keys.add(entry.key)
        self.buffer.on_undo(lambda: self._keys.discard(entry.key))
        entry_id = self.ids.next(journal_entries)  # lines can carry it now; gaps are harmless
        self.buffer.append(
            "journal",
            {
                "id": entry_id,
                "key": entry.key,
                "entry_date": entry.entry_date,
                "memo": entry.memo,
                "source_kind": entry.source.kind,
                "document_id": entry.source.document_id,
                "event": entry.source.event,
                "rule": entry.rule,
                "reverses": entry.reverses,
                "rule_version": entry.rule_version,
                "inbox_id": inbox_id,
                "posted_at": at,
                "lines": [
                    (
                        entry_id,
                        line.account,
                        line.amount,
                        line.currency,
                        line.memo,
                        line.channel,
                        line.location,
                        line.brand,
                    )
                    for line in entry.lines
                ],
            },
        )
        return True

    def stage(
        self,
        entry: JournalEntry,
        channel: str,
        location: str | None,
        inbox_id: int | None,
        at: datetime,
    ) -> bool:
        """Hold an entry of a daily-summary channel until ``summarise`` posts the day as one."""
        if entry.key in self._keys:
            return False
        self._keys.add(entry.key)
        self.buffer.on_undo(lambda: self._keys.discard(entry.key))
        self.buffer.append(
            "staged",
            {
                "id": self.ids.next(staged_entries),
                "key": entry.key,
                "entry_date": entry.entry_date,
                "channel": channel,
                "location": location,
                "memo": entry.memo,
                "source_kind": entry.source.kind,
                "document_id": entry.source.document_id,
                "event": entry.source.event,
                "rule": entry.rule,
                "inbox_id": inbox_id,
                "posted_at": at,
                "lines": list(entry.lines),
            },
        )
        return True

    def _flush_staged(self) -> None:
        pending = self.buffer.take("staged")
        if not pending:
            return
        keys = [p["key"] for p in pending]
        held = set(
            self.conn.execute(
                select(staged_entries.c.key).where(staged_entries.c.key.in_(keys))
            ).scalars()
        )
        fresh = [p for p in pending if p["key"] not in held]
        lines = [
            {
                "staged_id": p["id"],
                "account": line.account,
                "amount": line.amount,
                "currency": line.currency,
                "memo": line.memo,
                "channel": line.channel,
                "location": line.location,
                "brand": line.brand,
            }
            for p in fresh
            for line in p.pop("lines")
        ]
        if fresh:
            self.conn.execute(_insert_staged, fresh)
            self.conn.execute(_insert_staged_lines, lines)

    def staged_open(self) -> list[tuple[int, str, date, str | None, JournalLine]]:
        """Lines of entries not yet summarised: (staged id, channel, day, location, line)."""
        rows = self.conn.execute(
            select(
                staged_entries.c.id,
                staged_entries.c.channel,
                staged_entries.c.entry_date,
                staged_entries.c.location,
                staged_lines,
            )
            .join(staged_lines, staged_lines.c.staged_id == staged_entries.c.id)
            .where(staged_entries.c.summary_key.is_(None))
            .order_by(staged_entries.c.id, staged_lines.c.id)
        )
        return [
            (
                r[0],
                r[1],
                r[2],
                r[3],
                JournalLine(
                    r.account, r.amount, r.currency, r.memo, r.channel_1, r.location_1, r.brand
                ),
            )
            for r in rows
        ]

    def mark_summarised(self, staged_ids: list[int], summary_key: str) -> None:
        for i in range(0, len(staged_ids), 500):
            self.conn.execute(
                update(staged_entries)
                .where(staged_entries.c.id.in_(staged_ids[i : i + 500]))
                .values(summary_key=summary_key)
            )

    def summaries_posted(self, prefix: str) -> int:
        """How many summary entries already exist under ``prefix`` (a channel, store and day)."""
        return int(
            self.conn.execute(
                select(func.count()).where(journal_entries.c.key.like(prefix + "%"))
            ).scalar_one()
        )

    def flush(self) -> None:
        """Insert the batch's entries, skipping any whose key was already posted.

        An entry dated inside a closed period is posted on the first open day instead, its
        key and lines unchanged (``_keep_closed_periods_closed``). Held entries of
        daily-summary channels keep their business day: they reach the journal only as their
        day's summary, which comes through here like any entry.
        """
        self._flush_staged()
        pending = self.buffer.take("journal")
        self._keys.clear()
        if not pending:
            return
        keys = [p["key"] for p in pending]
        posted: set[str] = set()
        for i in range(0, len(keys), 500):
            posted |= set(
                self.conn.execute(
                    select(journal_entries.c.key).where(
                        journal_entries.c.key.in_(keys[i : i + 500])
                    )
                ).scalars()
            )
        fresh = [p for p in pending if p["key"] not in posted]
        if not fresh:
            return
        late = self._keep_closed_periods_closed(fresh)
        lines = [line for p in fresh for line in p.pop("lines")]
        executemany(self.conn, "journal_entries", _insert_entries, fresh)
        executemany(
            self.conn,
            "journal_lines",
            _insert_lines,
            [dict(zip(_LINE_COLUMNS, line, strict=True)) for line in lines],
        )
        if late:
            self._report_late(late)

    def _keep_closed_periods_closed(self, fresh: list[dict[str, Any]]) -> list[_Late]:
        """Re-date entries that fall in a closed period (see ``domain/periods.py``); one
        advisory ``period_closed`` problem per entry re-dated, for finance to review.

        Done here, on the entries actually about to be written, so an entry replayed under a
        key already in the ledger is neither re-dated nor reported twice. The closed periods
        are read once per flush, i.e. once per transaction: a month closed meanwhile is seen
        by the very next batch.
        """
        closed = periods_repo.for_posting(self.conn)
        if not closed:
            return []
        late = []
        verdicts: dict[date, Redated | None] = {}  # a batch's entries share a handful of days
        for row in fresh:
            day = row["entry_date"]
            if day not in verdicts:
                verdicts[day] = closed.redate(day)
            verdict = verdicts[day]
            if verdict is not None:
                row["entry_date"] = verdict.posted_on
                row["memo"] = verdict.memo(row["memo"])
                late.append(_late_problem(row, verdict))
        return late

    def _report_late(self, late: list[_Late]) -> None:
        """Queue the re-dated entries' problems on this same connection and transaction.

        Raised here rather than by the callers: only the flush knows which entries it re-dated
        and actually wrote, and posting has half a dozen callers (handlers, summaries,
        write-offs, stock control) that would each have to remember.
        """
        queue = SqlExceptionRepository(self.conn)
        for problem, source, inbox_id, at in late:
            queue.raise_problem(problem, at, source, inbox_id, None)

    def discard(self) -> None:
        self._keys.clear()

    def open_accounts(self, names: list[str], on: Any) -> None:
        """Record the chart's accounts. Posting never needs this: derived accounts (a new tax
        jurisdiction) simply appear in journal lines, which are the ledger's truth."""
        if names:
            self.conn.execute(
                prebuilt(self.conn, "ledger.account", _open_account),
                [{"account": a, "type": account_type(a).value, "opened_on": on} for a in names],
            )

    def trial_balance(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute(
            select(
                journal_lines.c.account, journal_lines.c.currency, func.sum(journal_lines.c.amount)
            )
            .group_by(journal_lines.c.account, journal_lines.c.currency)
            .order_by(journal_lines.c.account)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}
