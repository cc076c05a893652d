"""Is a period ready to close? What finance needs to know before it locks the month.

Read-only checks over one period ``[start, end)``:

* every day posted: no entries of daily-summary channels still held (not yet summarised)
  for a day up to the period's end (an earlier day's, if its period is closed, would post
  into this one);
* nothing unposted: no delivery received in the period still pending, waiting or failed;
* every settlement reconciled: each settlement deposited in the period is covered by a
  reconciliation run made after it was imported, with none of its lines unmatched;
* open exceptions, by owner team: all of them, since one raised today (a reconciliation
  finding) may well be about the period being closed.

It also says whether the period is closed already (``retailhub close lock``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage import periods_repo
from retailhub.adapters.storage.tables import (
    exceptions,
    inbox,
    reconciliation_items,
    reconciliation_runs,
    settlements,
    staged_entries,
)


@dataclass
class CloseReadiness:
    period: str
    held_entries: dict[str, int] = field(default_factory=dict)  # day -> entries not summarised
    unposted: dict[str, int] = field(default_factory=dict)  # delivery status -> count
    unreconciled: list[str] = field(default_factory=list)  # "gateway:settlement id: why"
    open_exceptions: dict[str, int] = field(default_factory=dict)  # owner team -> count
    closed: dict[str, Any] | None = None  # the closed period (row) the period lies in, if any

    @property
    def ready(self) -> bool:
        return not (self.held_entries or self.unposted or self.unreconciled or self.open_exceptions)

    def reasons(self) -> list[str]:
        """Why the period is not ready, one line per check that fails."""
        out = []
        if self.held_entries:
            days = ", ".join(f"{day} ({n})" for day, n in sorted(self.held_entries.items()))
            out.append(f"entries held, not summarised (retailhub ledger summarise): {days}")
        if self.unposted:
            out.append(
                "deliveries not applied: "
                + ", ".join(f"{n} {status}" for status, n in sorted(self.unposted.items()))
            )
        out += [f"settlement not reconciled: {line}" for line in self.unreconciled]
        if self.open_exceptions:
            out.append(
                "open exceptions: "
                + ", ".join(f"{owner} {n}" for owner, n in sorted(self.open_exceptions.items()))
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "ready": self.ready,
            "every_day_posted": not self.held_entries,
            "held_entries": self.held_entries,
            "unposted_deliveries": self.unposted,
            "every_settlement_reconciled": not self.unreconciled,
            "unreconciled_settlements": self.unreconciled,
            "open_exceptions_by_owner": self.open_exceptions,
            "closed": self.closed is not None,
            "closed_at": self.closed["closed_at"].isoformat() if self.closed else None,
            "closed_by": self.closed["closed_by"] if self.closed else None,
        }


def check_close(conn: Connection, period: str, start: date, end: date) -> CloseReadiness:
    report = CloseReadiness(period)
    start_at = datetime.combine(start, time(), UTC)
    end_at = datetime.combine(end, time(), UTC)

    held = conn.execute(
        select(staged_entries.c.entry_date, func.count())
        .where(
            staged_entries.c.summary_key.is_(None),
            staged_entries.c.entry_date < end,
        )
        .group_by(staged_entries.c.entry_date)
    )
    report.held_entries = {str(day): int(n) for day, n in held}

    unposted = conn.execute(
        select(inbox.c.status, func.count())
        .where(
            inbox.c.status.in_(("pending", "waiting", "failed")),
            inbox.c.received_at >= start_at,
            inbox.c.received_at < end_at,
        )
        .group_by(inbox.c.status)
    )
    report.unposted = {status: int(n) for status, n in unposted}

    report.unreconciled = _unreconciled(conn, start, end)

    owners = conn.execute(
        select(exceptions.c.owner, func.count())
        .where(exceptions.c.status.in_(("open", "retrying")))
        .group_by(exceptions.c.owner)
    )
    report.open_exceptions = {owner: int(n) for owner, n in owners}
    closed = periods_repo.covering(conn, start, end - timedelta(days=1))
    report.closed = dict(closed) if closed is not None else None
    return report


def _unreconciled(conn: Connection, start: date, end: date) -> list[str]:
    deposited = list(
        conn.execute(
            select(settlements.c.gateway, settlements.c.settlement_id, settlements.c.imported_at)
            .where(settlements.c.deposit_date >= start, settlements.c.deposit_date < end)
            .order_by(settlements.c.id)
        )
    )
    if not deposited:
        return []
    last_run = conn.execute(
        select(reconciliation_runs.c.id, reconciliation_runs.c.run_at)
        .where(reconciliation_runs.c.gateway.is_(None))  # a run over every gateway
        .order_by(reconciliation_runs.c.id.desc())
        .limit(1)
    ).first()
    if last_run is None:
        return [f"{g}:{s}: never reconciled" for g, s, _ in deposited]
    open_lines: Counter[tuple[str, str]] = Counter()
    for gateway, detail in conn.execute(
        select(reconciliation_items.c.gateway, reconciliation_items.c.detail).where(
            reconciliation_items.c.run_id == last_run.id
        )
    ):
        for line in (detail or {}).get("lines", []):
            open_lines[(gateway, line["settlement_id"])] += 1
    out = []
    for gateway, settlement_id, imported_at in deposited:
        if imported_at > last_run.run_at:
            out.append(f"{gateway}:{settlement_id}: imported after the last reconciliation")
        elif open_lines[(gateway, settlement_id)]:
            n = open_lines[(gateway, settlement_id)]
            out.append(f"{gateway}:{settlement_id}: {n} line(s) not matched")
    return out
