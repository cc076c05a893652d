"""What each accounting target has answered for each journal entry, and the targets' tokens.

``pending`` reads journal entries back into domain ``JournalEntry`` values (lines and all), in
posting order, for the entries a target has no answer for yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import (
    erp_postings,
    erp_tokens,
    journal_entries,
    journal_lines,
)
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.services.erp_posting import PendingEntry


class SqlErpPostingRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def pending(self, target: str, limit: int | None, retry_rejected: bool) -> list[PendingEntry]:
        answered = select(erp_postings.c.entry_id).where(erp_postings.c.target == target)
        if retry_rejected:
            answered = answered.where(erp_postings.c.status == "posted")
        query = (
            select(journal_entries)
            .where(journal_entries.c.id.not_in(answered))
            .order_by(journal_entries.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        heads = list(self.conn.execute(query))
        return [
            PendingEntry(row.id, entry)
            for row, entry in zip(heads, self._entries(heads), strict=True)
        ]

    def _entries(self, heads: list[Any]) -> list[JournalEntry]:
        lines: dict[int, list[JournalLine]] = defaultdict(list)
        ids = [h.id for h in heads]
        for start in range(0, len(ids), 500):
            rows = self.conn.execute(
                select(journal_lines)
                .where(journal_lines.c.entry_id.in_(ids[start : start + 500]))
                .order_by(journal_lines.c.id)
            )
            for r in rows:
                lines[r.entry_id].append(
                    JournalLine(
                        r.account, int(r.amount), r.currency, r.memo, r.channel, r.location, r.brand
                    )
                )
        return [entry_from_row(h, lines[h.id]) for h in heads]

    def record(
        self,
        target: str,
        pending: PendingEntry,
        key: str,
        status: str,
        at: datetime,
        document: str | None = None,
        target_id: str | None = None,
        message: str | None = None,
    ) -> None:
        values = {
            "status": status,
            "document": document,
            "target_id": target_id,
            "message": message,
            "posted_at": at,
        }
        where = and_(erp_postings.c.target == target, erp_postings.c.entry_id == pending.entry_id)
        done = self.conn.execute(
            update(erp_postings).where(where).values(attempts=erp_postings.c.attempts + 1, **values)
        )
        if done.rowcount:
            return
        self.conn.execute(
            insert_for(self.conn, erp_postings).values(
                target=target,
                entry_id=pending.entry_id,
                entry_key=pending.entry.key,
                idempotency_key=key,
                attempts=1,
                **values,
            )
        )

    def status(self, *targets: str, only: str | None = None) -> dict[str, dict[str, int]]:
        """Per target: posted, rejected, and entries still pending. ``targets`` are listed even
        before their first push (everything pending); ``only`` narrows to one target."""
        query = select(erp_postings.c.target, erp_postings.c.status, func.count()).group_by(
            erp_postings.c.target, erp_postings.c.status
        )
        if only:
            query = query.where(erp_postings.c.target == only)
        total = self.conn.execute(select(func.count()).select_from(journal_entries)).scalar_one()
        out: dict[str, dict[str, int]] = {
            t: {"posted": 0, "rejected": 0} for t in targets if only in (None, t)
        }
        for t, status, n in self.conn.execute(query):
            out.setdefault(t, {"posted": 0, "rejected": 0})
            out[t][status] = int(n)
        for counts in out.values():
            counts["pending"] = total - counts["posted"] - counts["rejected"]
        return dict(out)

    def posted(self, target: str) -> list[Mapping[str, Any]]:
        rows = self.conn.execute(
            select(erp_postings)
            .where(erp_postings.c.target == target)
            .order_by(erp_postings.c.entry_id)
        )
        return [dict(r._mapping) for r in rows]


def ledger_accounts(conn: Connection) -> list[str]:
    """Every account the journal has lines on, sorted: what a target must be able to take."""
    return sorted(conn.execute(select(journal_lines.c.account).distinct()).scalars())


def entry_from_row(head: Any, lines: list[JournalLine]) -> JournalEntry:
    """A stored entry as the domain value it was posted from (its key is recomputed the same)."""
    return JournalEntry(
        head.entry_date,
        head.memo,
        SourceRef(head.source_kind, head.document_id, head.event),
        tuple(lines),
        head.rule,
        head.reverses,
    )


@dataclass(frozen=True, slots=True)
class StoredToken:
    access_token: str | None
    refresh_token: str | None
    expires_at: datetime | None


class SqlTokenStore:
    """OAuth2 tokens per target, in their own short transactions (a refresh must survive a
    crash of the push that asked for it: the old refresh token may already be spent)."""

    def __init__(self, engine: Any, target: str) -> None:
        self.engine = engine
        self.target = target

    def load(self) -> StoredToken | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(erp_tokens).where(erp_tokens.c.target == self.target)).first()
        if row is None:
            return None
        return StoredToken(row.access_token, row.refresh_token, row.expires_at)

    def save(self, token: StoredToken, at: datetime) -> None:
        values = {
            "access_token": token.access_token,
            "refresh_token": token.refresh_token,
            "expires_at": token.expires_at,
            "updated_at": at,
        }
        with self.engine.begin() as conn:
            ins = insert_for(conn, erp_tokens).values(target=self.target, **values)
            conn.execute(ins.on_conflict_do_update(index_elements=["target"], set_=values))
