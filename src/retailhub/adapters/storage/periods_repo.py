"""Closed periods in the database: which months are locked, by whom, and since when.

Closing and posting must not interleave: an entry dated 28 November being written while
November is closed could land in the month after finance has taken its figures. On SQLite
every writer begins ``IMMEDIATE``, so writers already run one at a time. On PostgreSQL each
posting transaction reads the closed periods under a shared advisory lock (``for_posting``),
and closing or reopening takes the same lock exclusively (``exclusive``): a close waits for
the postings in flight to commit, and postings that start meanwhile wait for the close, then
see it. Advisory locks need no table privilege beyond what the hub already has.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import closed_periods, period_events
from retailhub.domain.periods import ClosedPeriod, ClosedPeriods

# pg_advisory_xact_lock keys are bigints shared by the whole database: one constant of ours.
_LOCK_KEY = 0x726863_6C6F7365  # "rhclose"
_shared = text(f"SELECT pg_advisory_xact_lock_shared({_LOCK_KEY})")
_exclusive = text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
_load = select(
    closed_periods.c.period, closed_periods.c.start_date, closed_periods.c.end_date
).order_by(closed_periods.c.start_date)


def for_posting(conn: Connection) -> ClosedPeriods:
    """The closed periods, held steady until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(_shared)
    return ClosedPeriods(ClosedPeriod(p, s, e) for p, s, e in conn.execute(_load))


def exclusive(conn: Connection) -> None:
    """Wait for postings in flight, and hold new ones, until this transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.execute(_exclusive)


def closed(conn: Connection) -> list[Mapping[str, Any]]:
    """Every closed period, oldest first: period, start_date, end_date, closed_at, closed_by."""
    rows = conn.execute(select(closed_periods).order_by(closed_periods.c.start_date))
    return [dict(r._mapping) for r in rows]


def get(conn: Connection, period: str) -> Mapping[str, Any] | None:
    row = conn.execute(select(closed_periods).where(closed_periods.c.period == period)).first()
    return dict(row._mapping) if row else None


def covering(conn: Connection, first: date, last: date) -> Mapping[str, Any] | None:
    """The closed period that holds every day from ``first`` to ``last``, if one does."""
    row = conn.execute(
        select(closed_periods)
        .where(closed_periods.c.start_date <= first, closed_periods.c.end_date >= last)
        .order_by(closed_periods.c.start_date)
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def close(conn: Connection, period: ClosedPeriod, at: datetime, by: str) -> None:
    conn.execute(
        insert(closed_periods).values(
            period=period.period,
            start_date=period.start,
            end_date=period.end,  # the last day in it, inclusive
            closed_at=at,
            closed_by=by[:80],  # the column holds 80 characters
        )
    )


def reopen(conn: Connection, period: str) -> bool:
    """Open a closed period again; False when it was not closed."""
    gone = conn.execute(delete(closed_periods).where(closed_periods.c.period == period))
    return bool(gone.rowcount)


def record_event(
    conn: Connection,
    period: str,
    action: str,
    at: datetime,
    by: str,
    forced: bool = False,
    reason: str | None = None,
) -> None:
    """The audit trail of locks and reopenings (``period_events``), kept for good."""
    conn.execute(
        insert(period_events).values(
            period=period, action=action, at=at, by=by[:80], forced=forced, reason=reason
        )
    )


def events(conn: Connection, period: str | None = None) -> list[Mapping[str, Any]]:
    query = select(period_events).order_by(period_events.c.id)
    if period is not None:
        query = query.where(period_events.c.period == period)
    return [dict(r._mapping) for r in conn.execute(query)]
