"""The exception queue: typed, owned, prioritised problems with an audit trail.

Owner, service-level due time and priority come from the ``ExceptionPolicy``
(``services/exception_policy.py``): given to the constructor, else the one the composition root
installed. Priority is stored when an exception opens and refreshed by ``refresh_priorities``
(the processor calls it at the start of every run), so listings sorted by it stay right as
exceptions age.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import (
    exception_audit,
    exceptions,
    inbox,
    inbox_payloads,
    item_identities,
)
from retailhub.domain.problems import Problem
from retailhub.services import exception_policy
from retailhub.services.exception_policy import ExceptionPolicy

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


class SqlExceptionRepository:
    def __init__(self, conn: Connection, policy: ExceptionPolicy | None = None) -> None:
        self.conn = conn
        self.policy = policy if policy is not None else exception_policy.current()

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
        owner = self.policy.owner(problem.type)
        due = self.policy.sla_due(problem.type, owner, at)
        exception_id = self.conn.execute(
            _open,
            {
                "type": problem.type.value,
                "status": "open",
                "owner": owner,
                "sla_due_at": due,
                "priority": exception_policy.priority(
                    problem.amount, problem.blocking, at, due, at
                ),
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
                "store": problem.store,
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
            ids = (
                self.conn.execute(
                    select(exceptions.c.id).where(
                        exceptions.c.type.in_(list(types)),
                        exceptions.c.subject.in_(wanted[i : i + 500]),
                        exceptions.c.status.in_(_LIVE),
                    )
                )
                .scalars()
                .all()
            )
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
        if status != "retrying":
            values["next_retry_at"] = None
        self.conn.execute(
            update(exceptions).where(exceptions.c.id == exception_id).values(**values)
        )
        self._audit(exception_id, at, actor, status, note)

    # -- workflow ------------------------------------------------------------------------------

    def schedule_retry(self, exception_id: int, due: datetime, at: datetime, note: str) -> None:
        """Status ``retrying`` until ``due``, when ``due_retries`` hands it back to the processor."""
        self.conn.execute(
            update(exceptions)
            .where(exceptions.c.id == exception_id)
            .values(status="retrying", next_retry_at=due, updated_at=at)
        )
        self._audit(exception_id, at, "system", "retry-scheduled", note)

    def due_retries(self, now: datetime) -> list[tuple[int, int]]:
        """(exception id, inbox id) of automatic retries due by ``now``, oldest delivery first."""
        rows = self.conn.execute(
            select(exceptions.c.id, exceptions.c.inbox_id)
            .where(
                exceptions.c.status == "retrying",
                exceptions.c.next_retry_at.is_not(None),
                exceptions.c.next_retry_at <= now,
                exceptions.c.inbox_id.is_not(None),
            )
            .order_by(exceptions.c.inbox_id)
        )
        return [(int(r.id), int(r.inbox_id)) for r in rows]

    def claim_retry(self, exception_id: int, at: datetime, note: str) -> None:
        """The retry is under way: clear its due time (stays ``retrying``) and audit it."""
        self.conn.execute(
            update(exceptions)
            .where(exceptions.c.id == exception_id)
            .values(next_retry_at=None, updated_at=at)
        )
        self._audit(exception_id, at, "system", "auto-retry", note)

    def live_on_subject(self, subject: str) -> list[Mapping[str, object]]:
        """Open or retrying exceptions about ``subject`` (``sku:ABC``), oldest delivery first."""
        rows = self.conn.execute(
            select(exceptions)
            .where(exceptions.c.subject == subject, exceptions.c.status.in_(_LIVE))
            .order_by(exceptions.c.inbox_id, exceptions.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def live_blocked_deliveries(self) -> list[tuple[int, int, str, str, bytes]]:
        """(exception id, inbox id, source, topic, body) behind every live blocking exception:
        the processor checks whether a newer delivery supersedes them."""
        rows = self.conn.execute(
            select(
                exceptions.c.id,
                inbox.c.id.label("inbox_id"),
                inbox.c.source,
                inbox.c.topic,
                inbox_payloads.c.body,
            )
            .select_from(
                exceptions.join(inbox, inbox.c.id == exceptions.c.inbox_id).join(
                    inbox_payloads, inbox_payloads.c.inbox_id == inbox.c.id
                )
            )
            .where(
                exceptions.c.status.in_(_LIVE),
                exceptions.c.blocking.is_(True),
                # a delivery that failed on its vendor's API cannot be re-read without it
                exceptions.c.type.not_in([t.value for t in exception_policy.RETRIABLE]),
            )
            .order_by(inbox.c.id)
        )
        return [(int(r.id), int(r.inbox_id), r.source, r.topic, bytes(r.body)) for r in rows]

    def assign(self, exception_id: int, assignee: str | None, at: datetime, actor: str) -> None:
        self.conn.execute(
            update(exceptions)
            .where(exceptions.c.id == exception_id)
            .values(assignee=assignee, updated_at=at)
        )
        self._audit(exception_id, at, actor, "assigned", assignee or "unassigned")

    def note(self, exception_id: int, at: datetime, actor: str, action: str, result: str) -> None:
        """An audit entry without a status change (an alias mapped, an entry posted)."""
        self._audit(exception_id, at, actor, action, result)

    def map_identity(self, system: str, kind: str, external_id: str, sku: str) -> None:
        """Record a channel identity for an item (``shopify``, ``variant``, ``4000…`` → SKU).

        It lives here rather than in the catalog repository because mapping an alias is an
        exception-queue action; the row is the same one an item import writes.
        """
        stmt = insert_for(self.conn, item_identities).values(
            system=system, kind=kind, external_id=external_id, sku=sku
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["system", "kind", "external_id"], set_={"sku": sku}
            )
        )

    def refresh_priorities(self, now: datetime) -> int:
        """Recompute the priority of live exceptions as they age; returns how many changed."""
        rows = self.conn.execute(
            select(
                exceptions.c.id,
                exceptions.c.priority,
                exceptions.c.amount,
                exceptions.c.blocking,
                exceptions.c.created_at,
                exceptions.c.sla_due_at,
            ).where(exceptions.c.status.in_(_LIVE))
        ).all()
        changed = 0
        for r in rows:
            wanted = exception_policy.priority(
                int(r.amount), bool(r.blocking), r.created_at, r.sla_due_at, now
            )
            if wanted != r.priority:
                self.conn.execute(
                    update(exceptions).where(exceptions.c.id == r.id).values(priority=wanted)
                )
                changed += 1
        return changed

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
