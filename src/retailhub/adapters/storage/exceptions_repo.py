"""The exception queue: typed, owned, prioritised problems with an audit trail."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import exception_audit, exceptions
from retailhub.domain.problems import DEFAULT_OWNERS, Problem

_LIVE = ("open", "retrying")
_same_delivery = select(exceptions.c.id).where(
    exceptions.c.inbox_id == bindparam("inbox_id"),
    exceptions.c.type == bindparam("type"),
    exceptions.c.status.in_(_LIVE),
)
_same_subject = select(exceptions.c.id).where(
    exceptions.c.type == bindparam("type"),
    exceptions.c.subject == bindparam("subject"),
    exceptions.c.status == "open",
)
_seen_again = (
    update(exceptions)
    .where(exceptions.c.id == bindparam("eid"))
    .values(
        status="open",
        reason=bindparam("reason"),
        updated_at=bindparam("at"),
        attempts=exceptions.c.attempts + 1,
    )
)
_open = insert(exceptions).returning(exceptions.c.id)
_for_delivery = select(exceptions.c.id).where(
    exceptions.c.inbox_id == bindparam("inbox_id"),
    exceptions.c.blocking.is_(True),
    exceptions.c.status.in_(_LIVE),
)
_audit = insert(exception_audit)


def priority(problem: Problem) -> int:
    """1 (most urgent) to 4: blocking problems with revenue at stake come first."""
    if problem.blocking and problem.amount > 0:
        return 1
    if problem.blocking:
        return 2
    return 3 if problem.amount > 0 else 4


class SqlExceptionRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def raise_problem(
        self,
        problem: Problem,
        at: datetime,
        source: str | None,
        inbox_id: int | None,
        correlation_id: str | None,
        headers: Mapping[str, str] | None = None,
        payload: bytes | None = None,
    ) -> int:
        existing = None
        if inbox_id is not None and problem.blocking:  # the same delivery failed again
            existing = self.conn.execute(
                _same_delivery, {"inbox_id": inbox_id, "type": problem.type.value}
            ).scalar()
        elif not problem.blocking and problem.subject is not None:
            # An advisory problem about a record already flagged (the same SKU still below
            # zero after another sale) updates that exception instead of opening one more.
            existing = self.conn.execute(
                _same_subject, {"type": problem.type.value, "subject": problem.subject}
            ).scalar()
        if existing is not None:
            self.conn.execute(_seen_again, {"eid": existing, "reason": problem.reason, "at": at})
            self._audit(existing, at, "system", "seen-again", problem.reason)
            return int(existing)
        exception_id = self.conn.execute(
            _open,
            {
                "type": problem.type.value,
                "status": "open",
                "owner": DEFAULT_OWNERS[problem.type].value,
                "priority": priority(problem),
                "blocking": problem.blocking,
                "reason": problem.reason,
                "subject": problem.subject,
                "amount": problem.amount,
                "source": source,
                "inbox_id": inbox_id,
                "headers": dict(headers) if headers is not None else None,
                "payload": payload,
                "attempts": 1,
                "created_at": at,
                "updated_at": at,
                "correlation_id": correlation_id,
            },
        ).scalar_one()
        self._audit(exception_id, at, "system", "opened", problem.reason)
        return int(exception_id)

    def resolve_for_delivery(self, inbox_id: int, at: datetime, note: str) -> int:
        ids = self.conn.execute(_for_delivery, {"inbox_id": inbox_id}).scalars().all()
        for exception_id in ids:
            self.set_status(exception_id, "resolved", at, "system", note)
        return len(ids)

    def resolve_subjects(
        self, types: Sequence[str], subjects: Iterable[str], at: datetime, note: str
    ) -> int:
        """Resolve open exceptions of ``types`` about ``subjects`` (they came right)."""
        wanted = list(subjects)
        resolved = 0
        for i in range(0, len(wanted), 500):
            ids = self.conn.execute(
                select(exceptions.c.id).where(
                    exceptions.c.type.in_(list(types)),
                    exceptions.c.subject.in_(wanted[i : i + 500]),
                    exceptions.c.status.in_(_LIVE),
                )
            ).scalars().all()
            for exception_id in ids:
                self.set_status(exception_id, "resolved", at, "system", note)
            resolved += len(ids)
        return resolved

    def get(self, exception_id: int) -> Mapping[str, object] | None:
        row = self.conn.execute(select(exceptions).where(exceptions.c.id == exception_id)).first()
        return dict(row._mapping) if row else None

    def open_ids(self) -> list[int]:
        return [
            int(i)
            for i in self.conn.execute(
                select(exceptions.c.id)
                .where(exceptions.c.status == "open")
                .order_by(exceptions.c.id)
            ).scalars()
        ]

    def set_status(
        self, exception_id: int, status: str, at: datetime, actor: str, note: str
    ) -> None:
        values: dict[str, object] = {"status": status, "updated_at": at}
        if status in ("resolved", "ignored"):
            values["resolved_at"] = at
        self.conn.execute(
            update(exceptions).where(exceptions.c.id == exception_id).values(**values)
        )
        self._audit(exception_id, at, actor, status, note)

    def _audit(self, exception_id: int, at: datetime, actor: str, action: str, result: str) -> None:
        self.conn.execute(
            _audit,
            {
                "exception_id": exception_id,
                "at": at,
                "actor": actor,
                "action": action,
                "result": result,
            },
        )
