"""SQL for SLA alerts: which exceptions breached their service level unannounced, and the record
of every POST made about one (table ``sla_alerts``).

An exception counts as alerted once a POST about it was answered 2xx. A failed attempt (no
answer, or any other status) is recorded too, and leaves the exception due for the next run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import exceptions, sla_alerts

UNRESOLVED = ("open", "retrying")  # resolved and ignored exceptions need no one any more


def _delivered() -> Any:
    return and_(
        sla_alerts.c.exception_id == exceptions.c.id,
        sla_alerts.c.status >= 200,
        sla_alerts.c.status < 300,
    )


def due_for_alert(conn: Connection, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Unresolved exceptions past ``sla_due_at`` with no delivered alert, most overdue first."""
    rows = conn.execute(
        select(
            exceptions.c.id,
            exceptions.c.type,
            exceptions.c.status,
            exceptions.c.owner,
            exceptions.c.priority,
            exceptions.c.reason,
            exceptions.c.subject,
            exceptions.c.amount,
            exceptions.c.source,
            exceptions.c.store,
            exceptions.c.assignee,
            exceptions.c.created_at,
            exceptions.c.sla_due_at,
            exceptions.c.correlation_id,
        )
        .where(
            exceptions.c.status.in_(UNRESOLVED),
            exceptions.c.sla_due_at.is_not(None),
            exceptions.c.sla_due_at <= now,
            ~exists(select(sla_alerts.c.id).where(_delivered())),
        )
        .order_by(exceptions.c.sla_due_at, exceptions.c.id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


def record_attempt(
    conn: Connection,
    exception_id: int,
    team: str,
    url: str,
    sent_at: datetime,
    status: int | None,
    answer: str,
) -> int:
    """Keep one POST's outcome: ``status`` is the HTTP status, None when there was no answer."""
    return int(
        conn.execute(
            insert(sla_alerts).returning(sla_alerts.c.id),
            {
                "exception_id": exception_id,
                "team": team,
                "url": url,
                "sent_at": sent_at,
                "status": status,
                "answer": answer,
            },
        ).scalar_one()
    )


def attempts(conn: Connection, exception_id: int | None = None) -> list[dict[str, Any]]:
    """The POSTs made, oldest first (for one exception, or all)."""
    stmt = select(sla_alerts).order_by(sla_alerts.c.id)
    if exception_id is not None:
        stmt = stmt.where(sla_alerts.c.exception_id == exception_id)
    return [dict(r._mapping) for r in conn.execute(stmt)]
