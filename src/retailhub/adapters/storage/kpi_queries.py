"""Read side for the dashboard: KPI samples, transaction health per connector, the queue.

Each KPI reader returns raw samples (when a thing finished, and its measure); the arithmetic
(shares, medians, daily series) lives in ``services.kpis`` so it can be tested without a database.
Everything is read in Python from plain selects, so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import (
    cycle_counts,
    exceptions,
    inbox,
    journal_entries,
    orders,
    reconciliation_items,
    reconciliation_runs,
    refunds,
)
from retailhub.services.kpis import MANUAL_JOURNAL_KINDS, Sample


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


@dataclass(frozen=True, slots=True)
class SqlKpiSamples:
    """The ``services.kpis.KpiSamples`` port over the tables."""

    conn: Connection

    def count_accuracy(self, since: datetime) -> list[Sample]:
        """One sample per cycle count: 1 when the count found the books right, else 0."""
        rows = self.conn.execute(
            select(cycle_counts.c.counted_at, cycle_counts.c.counted, cycle_counts.c.expected)
            .where(cycle_counts.c.counted_at >= since)
            .order_by(cycle_counts.c.counted_at)
        )
        return [Sample(r.counted_at, 1.0 if r.counted == r.expected else 0.0) for r in rows]

    def _first_posting(self, kind: str) -> Any:
        return (
            select(
                journal_entries.c.document_id.label("document_id"),
                func.min(journal_entries.c.posted_at).label("posted_at"),
            )
            .where(journal_entries.c.source_kind == kind)
            .group_by(journal_entries.c.document_id)
            .subquery()
        )

    def order_latency(self, since: datetime) -> list[Sample]:
        """Order event time (``orders.created_at``) to its first posted journal entry."""
        first = self._first_posting("order")
        rows = self.conn.execute(
            select(orders.c.created_at, first.c.posted_at)
            .join(first, first.c.document_id == orders.c.order_id)
            .where(first.c.posted_at >= since)
        )
        return sorted(Sample(r.posted_at, _seconds(r.created_at, r.posted_at)) for r in rows)

    def refund_turnaround(self, since: datetime) -> list[Sample]:
        """Refund created (``refunds.occurred_at``) to its first posted journal entry."""
        first = self._first_posting("refund")
        rows = self.conn.execute(
            select(refunds.c.occurred_at, first.c.posted_at)
            .join(first, first.c.document_id == refunds.c.refund_id)
            .where(first.c.posted_at >= since)
        )
        return sorted(Sample(r.posted_at, _seconds(r.occurred_at, r.posted_at)) for r in rows)

    def match_rate(self, since: datetime) -> list[Sample]:
        """Every reconciliation run's matched share (0..1); runs with nothing to match skipped."""
        rows = self.conn.execute(
            select(reconciliation_runs.c.run_at, reconciliation_runs.c.matched,
                   reconciliation_runs.c.matchable)
            .where(reconciliation_runs.c.run_at >= since, reconciliation_runs.c.matchable > 0)
            .order_by(reconciliation_runs.c.run_at, reconciliation_runs.c.id)
        )  # fmt: skip
        return [Sample(r.run_at, r.matched / r.matchable) for r in rows]

    def exception_resolution(self, since: datetime) -> list[Sample]:
        """Created to resolved, for exceptions resolved (not ignored) since ``since``."""
        rows = self.conn.execute(
            select(exceptions.c.created_at, exceptions.c.resolved_at).where(
                exceptions.c.status == "resolved",
                exceptions.c.resolved_at.is_not(None),
                exceptions.c.resolved_at >= since,
            )
        )
        return sorted(Sample(r.resolved_at, _seconds(r.created_at, r.resolved_at)) for r in rows)

    def manual_journals(self, since: datetime) -> list[Sample]:
        """One sample per journal entry posted by a person's decision (write-off, count, …)."""
        rows = self.conn.execute(
            select(journal_entries.c.posted_at)
            .where(
                journal_entries.c.source_kind.in_(sorted(MANUAL_JOURNAL_KINDS)),
                journal_entries.c.posted_at >= since,
            )
            .order_by(journal_entries.c.posted_at)
        )
        return [Sample(r.posted_at, 1.0) for r in rows]


def connector_health(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per inbound connector: deliveries received, applied, failed, waiting, pending, and the
    lag (seconds the oldest unapplied pending delivery has waited)."""
    out: dict[str, dict[str, Any]] = {}
    for source, status, n in conn.execute(
        select(inbox.c.source, inbox.c.status, func.count()).group_by(
            inbox.c.source, inbox.c.status
        )
    ):
        row = out.setdefault(
            source,
            {"source": source, "received": 0, "applied": 0, "failed": 0, "waiting": 0,
             "pending": 0, "lag_seconds": 0},
        )  # fmt: skip
        row["received"] += int(n)
        if status in row:
            row[status] += int(n)
    for source, oldest in conn.execute(
        select(inbox.c.source, func.min(inbox.c.received_at))
        .where(inbox.c.status == "pending")
        .group_by(inbox.c.source)
    ):
        if source in out and oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            out[source]["lag_seconds"] = max(0, int(_seconds(oldest, now)))
    return [out[k] for k in sorted(out)]


def exception_rows(
    conn: Connection,
    status: str | None = None,
    type_: str | None = None,
    owner: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The queue for the dashboard (with store and assignee, which the API list leaves out)."""
    c = exceptions.c
    stmt = select(
        c.id, c.type, c.status, c.owner, c.priority, c.reason, c.subject, c.amount, c.attempts,
        c.created_at, c.assignee, c.sla_due_at, c.store, c.blocking,
    )  # fmt: skip
    conditions = []
    if status:
        conditions.append(c.status == status)
    if type_:
        conditions.append(c.type == type_)
    if owner:
        conditions.append(c.owner == owner)
    if conditions:
        stmt = stmt.where(and_(*conditions))
    stmt = stmt.order_by(c.priority, c.id).limit(limit)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def exception_facets(conn: Connection) -> dict[str, list[str]]:
    """The types, owners and statuses present, for the queue's filter menus."""
    return {
        name: sorted(str(v) for v in conn.execute(select(col).distinct()).scalars() if v)
        for name, col in (
            ("type", exceptions.c.type),
            ("owner", exceptions.c.owner),
            ("status", exceptions.c.status),
        )
    }


def latest_reconciliation(conn: Connection) -> dict[str, Any] | None:
    """The most recent reconciliation run and the items it could not match."""
    run = conn.execute(
        select(reconciliation_runs).order_by(
            reconciliation_runs.c.run_at.desc(), reconciliation_runs.c.id.desc()
        )
    ).first()
    if run is None:
        return None
    unmatched = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                reconciliation_items.c.outcome,
                reconciliation_items.c.gateway,
                reconciliation_items.c.currency,
                reconciliation_items.c.method,
                reconciliation_items.c.expected,
                reconciliation_items.c.settled,
                reconciliation_items.c.subject,
            )
            .where(
                reconciliation_items.c.run_id == run.id,
                reconciliation_items.c.outcome != "matched",
            )
            .order_by(reconciliation_items.c.id)
        )
    ]
    return {
        "id": run.id,
        "run_at": run.run_at,
        "gateway": run.gateway,
        "on_date": run.on_date,
        "matched": run.matched,
        "matchable": run.matchable,
        "unmatched": unmatched,
    }
