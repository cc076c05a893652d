"""The general ledger as beancount, hledger journal or CSV text.

Amounts are printed from integer minor units with the currency's exponent, never through
float. Every transaction carries its source document and idempotency key, so an exported
line can be traced back to the delivery that caused it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import journal_entries, journal_lines
from retailhub.domain.money import format_minor

FORMATS = ("beancount", "hledger", "csv")


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: int
    currency: str
    channel: str | None
    location: str | None


@dataclass(frozen=True, slots=True)
class Transaction:
    entry_id: int
    on: date
    memo: str
    key: str
    source: str
    postings: tuple[Posting, ...]


def period_bounds(period: str | None) -> tuple[date | None, date | None]:
    """``2026``, ``2026-11`` or ``2026-11-20`` as [start, end) dates; None for everything."""
    if not period:
        return None, None
    parts = period.split("-")
    try:
        if len(parts) == 1:
            year = int(parts[0])
            return date(year, 1, 1), date(year + 1, 1, 1)
        if len(parts) == 2:
            year, month = int(parts[0]), int(parts[1])
            end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
            return date(year, month, 1), end
        day = date.fromisoformat(period)
        return day, date.fromordinal(day.toordinal() + 1)
    except ValueError as exc:
        raise ValueError(f"period {period!r}: use YYYY, YYYY-MM or YYYY-MM-DD") from exc


def transactions(conn: Connection, period: str | None = None) -> Iterator[Transaction]:
    start, end = period_bounds(period)
    stmt = (
        select(
            journal_entries.c.id,
            journal_entries.c.entry_date,
            journal_entries.c.memo,
            journal_entries.c.key,
            journal_entries.c.source_kind,
            journal_entries.c.document_id,
            journal_lines.c.account,
            journal_lines.c.amount,
            journal_lines.c.currency,
            journal_lines.c.channel,
            journal_lines.c.location,
        )
        .join(journal_lines, journal_lines.c.entry_id == journal_entries.c.id)
        .order_by(journal_entries.c.entry_date, journal_entries.c.id, journal_lines.c.id)
    )
    if start is not None:
        stmt = stmt.where(journal_entries.c.entry_date >= start, journal_entries.c.entry_date < end)
    current: Transaction | None = None
    postings: list[Posting] = []
    for row in conn.execute(stmt):
        if current is not None and row.id != current.entry_id:
            yield Transaction(
                current.entry_id,
                current.on,
                current.memo,
                current.key,
                current.source,
                tuple(postings),
            )
            postings = []
        if current is None or row.id != current.entry_id:
            current = Transaction(
                row.id,
                row.entry_date,
                row.memo,
                row.key,
                f"{row.source_kind}:{row.document_id}",
                (),
            )
        postings.append(Posting(row.account, row.amount, row.currency, row.channel, row.location))
    if current is not None:
        yield Transaction(
            current.entry_id, current.on, current.memo, current.key, current.source, tuple(postings)
        )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def beancount(txns: list[Transaction], operating_currency: str) -> str:
    opened: dict[str, date] = {}
    for t in txns:
        for p in t.postings:
            opened.setdefault(p.account, t.on)
    out = [f"option {_quoted('operating_currency')} {_quoted(operating_currency)}", ""]
    out += [f"{on.isoformat()} open {account}" for account, on in sorted(opened.items())]
    for t in txns:
        out += [
            "",
            f"{t.on.isoformat()} * {_quoted(t.memo)}",
            f"  source: {_quoted(t.source)}",
            f"  key: {_quoted(t.key)}",
        ]
        out += [
            f"  {p.account}  {format_minor(p.amount, p.currency)} {p.currency}" for p in t.postings
        ]
    return "\n".join(out) + "\n"


def hledger(txns: list[Transaction]) -> str:
    out: list[str] = []
    for t in txns:
        memo = t.memo.replace(";", ",")
        out += [f"{t.on.isoformat()} {memo}  ; source:{t.source}, key:{t.key}"]
        out += [
            f"    {p.account}  {format_minor(p.amount, p.currency)} {p.currency}"
            for p in t.postings
        ]
        out.append("")
    return "\n".join(out)


def csv_text(txns: list[Transaction]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "entry_id",
            "date",
            "memo",
            "source",
            "key",
            "account",
            "debit",
            "credit",
            "currency",
            "channel",
            "location",
        ]
    )
    for t in txns:
        for p in t.postings:
            debit = format_minor(p.amount, p.currency) if p.amount > 0 else ""
            credit = format_minor(-p.amount, p.currency) if p.amount < 0 else ""
            writer.writerow(
                [
                    t.entry_id,
                    t.on.isoformat(),
                    t.memo,
                    t.source,
                    t.key,
                    p.account,
                    debit,
                    credit,
                    p.currency,
                    p.channel or "",
                    p.location or "",
                ]
            )
    return buffer.getvalue()
