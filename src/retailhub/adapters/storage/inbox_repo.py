"""The inbox: every admitted delivery, raw and durable, deduplicated by (source, event id).

The processing state lives in ``inbox`` and the raw delivery (headers and body, byte for byte)
in ``inbox_payloads``, written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany
from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.ids import IdAllocator
from retailhub.adapters.storage.tables import inbox, inbox_payloads
from retailhub.services.ports import Delivery, InboxRow

_STATE = (
    inbox.c.id,
    inbox.c.source,
    inbox.c.event_id,
    inbox.c.topic,
    inbox.c.received_at,
    inbox.c.status,
    inbox.c.attempts,
    inbox.c.correlation_id,
)
_joined = inbox.join(inbox_payloads, inbox_payloads.c.inbox_id == inbox.c.id)

_by_id = (
    select(*_STATE, inbox_payloads.c.headers, inbox_payloads.c.body)
    .select_from(_joined)
    .where(inbox.c.id == bindparam("id"))
)
# Processing needs the topic and body, not the headers (kept for audit and re-verification).
_pending = (
    select(*_STATE, inbox_payloads.c.body)
    .select_from(_joined)
    .where(inbox.c.status == "pending")
    .order_by(inbox.c.id)
    .limit(bindparam("n"))
)
_pending_locked = _pending.with_for_update(of=inbox, skip_locked=True)  # workers share the queue
_set_status = (
    update(inbox)
    .where(inbox.c.id == bindparam("row"))
    .values(
        status=bindparam("status"),
        waiting_on=bindparam("waiting_on"),
        last_error=bindparam("last_error"),
        attempts=inbox.c.attempts + 1,
    )
)
_applied = (
    update(inbox)
    .where(inbox.c.id == bindparam("row"))
    .values(
        status="applied",
        applied_at=bindparam("at"),
        waiting_on=None,
        last_error=None,
        attempts=inbox.c.attempts + 1,
    )
)
_failed = (
    update(inbox)
    .where(inbox.c.id == bindparam("row"))
    .values(status="failed", last_error=bindparam("last_error"), attempts=inbox.c.attempts + 1)
)
_requeue = update(inbox).where(inbox.c.id == bindparam("row")).values(status="pending")
_duplicate = (
    update(inbox)
    .where(inbox.c.source == bindparam("s"), inbox.c.event_id == bindparam("e"))
    .values(duplicates=inbox.c.duplicates + 1)
)
_wake = (
    update(inbox)
    .where(inbox.c.waiting_on == bindparam("dep"), inbox.c.status.in_(("waiting", "failed")))
    .values(status="pending")
)
_waiting_keys = (
    select(inbox.c.waiting_on)
    .distinct()
    .where(inbox.c.waiting_on.is_not(None), inbox.c.status.in_(("waiting", "failed")))
)
_insert_payloads = insert(inbox_payloads)


def _insert_new(ins: Any) -> Any:
    return (
        ins(inbox)
        .on_conflict_do_nothing(index_elements=["source", "event_id"])
        .returning(inbox.c.id)
    )


def _delivery(row: Any) -> Delivery:
    headers = row.headers if "headers" in row._fields else {}
    return Delivery(
        row.id,
        row.source,
        row.event_id,
        row.topic,
        headers,
        row.body,
        row.received_at,
        row.status,
        row.attempts,
        row.correlation_id,
    )


def _state_row(inbox_id: int, r: InboxRow) -> dict[str, Any]:
    return {
        "id": inbox_id,
        "source": r.source,
        "event_id": r.event_id,
        "topic": r.topic,
        "received_at": r.received_at,
        "status": "pending",
        "attempts": 0,
        "duplicates": 0,
        "correlation_id": r.correlation_id,
    }


class SqlInboxRepository:
    def __init__(self, conn: Connection, buffer: WriteBuffer, ids: IdAllocator) -> None:
        self.conn = conn
        self.buffer = buffer  # "applied" marks are written with the batch's other effects
        self.ids = ids

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
        row = InboxRow(source, event_id, topic, headers, body, received_at, correlation_id)
        inbox_id = self.conn.execute(
            prebuilt(self.conn, "inbox.add", _insert_new), _state_row(self.ids.next(inbox), row)
        ).scalar()
        if inbox_id is None:
            return None
        self.conn.execute(
            _insert_payloads, {"inbox_id": inbox_id, "headers": dict(headers), "body": body}
        )
        return int(inbox_id)

    def add_many(self, rows: Sequence[InboxRow]) -> set[str]:
        """Store the rows whose (source, event id) is new, in two statements."""
        fresh: list[InboxRow] = []
        by_source: dict[str, list[InboxRow]] = {}
        for row in rows:
            by_source.setdefault(row.source, []).append(row)
        for source, group in by_source.items():
            ids = [r.event_id for r in group]
            existing: set[str] = set()
            for i in range(0, len(ids), 400):
                existing |= set(
                    self.conn.execute(
                        select(inbox.c.event_id).where(
                            inbox.c.source == source, inbox.c.event_id.in_(ids[i : i + 400])
                        )
                    ).scalars()
                )
            for r in group:
                if r.event_id in existing:
                    self.count_duplicate(r.source, r.event_id)
                else:
                    fresh.append(r)
        numbered = [(self.ids.next(inbox), r) for r in fresh]
        # A concurrent writer of the same event makes this raise; the caller's transaction
        # then stores nothing and the whole chunk can be retried.
        executemany(
            self.conn, "inbox.insert", insert(inbox), [_state_row(i, r) for i, r in numbered]
        )
        executemany(
            self.conn,
            "inbox_payloads.insert",
            _insert_payloads,
            [{"inbox_id": i, "headers": dict(r.headers), "body": r.body} for i, r in numbered],
        )
        return {r.correlation_id for r in fresh}

    def count_duplicate(self, source: str, event_id: str) -> None:
        self.conn.execute(_duplicate, {"s": source, "e": event_id})

    def claim_pending(self, limit: int) -> list[Delivery]:
        stmt = _pending_locked if self.conn.dialect.name == "postgresql" else _pending
        return [_delivery(r) for r in self.conn.execute(stmt, {"n": limit})]

    def get(self, inbox_id: int) -> Delivery | None:
        row = self.conn.execute(_by_id, {"id": inbox_id}).first()
        return _delivery(row) if row else None

    def mark_applied(self, inbox_id: int, at: datetime) -> None:
        self.buffer.append("inbox.applied", {"row": inbox_id, "at": at})

    def flush(self) -> None:
        executemany(self.conn, "inbox.applied", _applied, self.buffer.take("inbox.applied"))

    def mark_waiting(self, inbox_id: int, dependency: str, reason: str) -> None:
        self.conn.execute(
            _set_status,
            {"row": inbox_id, "status": "waiting", "waiting_on": dependency, "last_error": reason},
        )

    def mark_failed(self, inbox_id: int, reason: str) -> None:
        self.conn.execute(_failed, {"row": inbox_id, "last_error": reason})

    def requeue(self, inbox_id: int) -> None:
        self.conn.execute(_requeue, {"row": inbox_id})

    def wake(self, dependency: str) -> int:
        return int(self.conn.execute(_wake, {"dep": dependency}).rowcount)

    def waiting_dependencies(self) -> set[str]:
        return {str(k) for k in self.conn.execute(_waiting_keys).scalars()}

    def expired_waiting(self, received_before: datetime) -> list[Delivery]:
        stmt = (
            select(*_STATE, inbox_payloads.c.body)
            .select_from(_joined)
            .where(inbox.c.status == "waiting", inbox.c.received_at < received_before)
            .order_by(inbox.c.id)
        )
        return [_delivery(r) for r in self.conn.execute(stmt)]
