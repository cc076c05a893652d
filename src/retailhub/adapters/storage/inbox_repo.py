"""The inbox: every admitted delivery, raw and durable, deduplicated by (source, event id)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import inbox
from retailhub.services.ports import Delivery

_COLUMNS = (
    inbox.c.id,
    inbox.c.source,
    inbox.c.event_id,
    inbox.c.topic,
    inbox.c.headers,
    inbox.c.body,
    inbox.c.received_at,
    inbox.c.status,
    inbox.c.attempts,
    inbox.c.correlation_id,
)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        row.id,
        row.source,
        row.event_id,
        row.topic,
        row.headers,
        row.body,
        row.received_at,
        row.status,
        row.attempts,
        row.correlation_id,
    )


class SqlInboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self,
        source: str,
        event_id: str,
        topic: str,
        headers: Mapping[str, str],
        body: bytes,
        received_at: datetime,
        correlation_id: str,
    ) -> int | None:
        stmt = (
            insert_for(self.conn, inbox)
            .values(
                source=source,
                event_id=event_id,
                topic=topic,
                headers=dict(headers),
                body=body,
                received_at=received_at,
                status="pending",
                attempts=0,
                duplicates=0,
                correlation_id=correlation_id,
            )
            .on_conflict_do_nothing(index_elements=["source", "event_id"])
            .returning(inbox.c.id)
        )
        return self.conn.execute(stmt).scalar()

    def count_duplicate(self, source: str, event_id: str) -> None:
        self.conn.execute(
            update(inbox)
            .where(inbox.c.source == source, inbox.c.event_id == event_id)
            .values(duplicates=inbox.c.duplicates + 1)
        )

    def claim_pending(self, limit: int) -> list[Delivery]:
        stmt = (
            select(*_COLUMNS).where(inbox.c.status == "pending").order_by(inbox.c.id).limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)  # several workers share the queue
        return [_delivery(r) for r in self.conn.execute(stmt)]

    def get(self, inbox_id: int) -> Delivery | None:
        row = self.conn.execute(select(*_COLUMNS).where(inbox.c.id == inbox_id)).first()
        return _delivery(row) if row else None

    def _set(self, inbox_id: int, **values: Any) -> None:
        self.conn.execute(update(inbox).where(inbox.c.id == inbox_id).values(**values))

    def mark_applied(self, inbox_id: int, at: datetime) -> None:
        self._set(
            inbox_id,
            status="applied",
            applied_at=at,
            waiting_on=None,
            last_error=None,
            attempts=inbox.c.attempts + 1,
        )

    def mark_waiting(self, inbox_id: int, dependency: str, reason: str) -> None:
        self._set(
            inbox_id,
            status="waiting",
            waiting_on=dependency,
            last_error=reason,
            attempts=inbox.c.attempts + 1,
        )

    def mark_failed(self, inbox_id: int, reason: str) -> None:
        self._set(inbox_id, status="failed", last_error=reason, attempts=inbox.c.attempts + 1)

    def requeue(self, inbox_id: int) -> None:
        self._set(inbox_id, status="pending")

    def wake(self, dependency: str) -> int:
        result = self.conn.execute(
            update(inbox)
            .where(inbox.c.waiting_on == dependency, inbox.c.status.in_(("waiting", "failed")))
            .values(status="pending")
        )
        return result.rowcount

    def expired_waiting(self, received_before: datetime) -> list[Delivery]:
        stmt = (
            select(*_COLUMNS)
            .where(inbox.c.status == "waiting", inbox.c.received_at < received_before)
            .order_by(inbox.c.id)
        )
        return [_delivery(r) for r in self.conn.execute(stmt)]
