"""The general ledger: journal entries posted once per idempotency key, never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import accounts, journal_entries, journal_lines
from retailhub.domain.accounts import account_type
from retailhub.domain.ledger import JournalEntry


class SqlLedgerRepository:
    def __init__(self, conn: Connection, known_accounts: set[str]) -> None:
        self.conn = conn
        self._known = known_accounts  # shared across units of work: accounts are never removed

    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        stmt = (
            insert_for(self.conn, journal_entries)
            .values(
                key=entry.key,
                entry_date=entry.entry_date,
                memo=entry.memo,
                source_kind=entry.source.kind,
                document_id=entry.source.document_id,
                event=entry.source.event,
                rule=entry.rule,
                reverses=entry.reverses,
                inbox_id=inbox_id,
                posted_at=at,
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(journal_entries.c.id)
        )
        entry_id = self.conn.execute(stmt).scalar()
        if entry_id is None:
            return False
        self._open_accounts(entry)
        self.conn.execute(
            journal_lines.insert(),
            [
                {
                    "entry_id": entry_id,
                    "account": line.account,
                    "amount": line.amount,
                    "currency": line.currency,
                    "memo": line.memo,
                    "channel": line.channel,
                    "location": line.location,
                    "brand": line.brand,
                }
                for line in entry.lines
            ],
        )
        return True

    def _open_accounts(self, entry: JournalEntry) -> None:
        new = {line.account for line in entry.lines} - self._known
        if not new:
            return
        stmt = insert_for(self.conn, accounts).on_conflict_do_nothing(index_elements=["account"])
        self.conn.execute(
            stmt,
            [
                {"account": a, "type": account_type(a).value, "opened_on": entry.entry_date}
                for a in sorted(new)
            ],
        )
        self._known |= new

    def trial_balance(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute(
            select(
                journal_lines.c.account, journal_lines.c.currency, func.sum(journal_lines.c.amount)
            )
            .group_by(journal_lines.c.account, journal_lines.c.currency)
            .order_by(journal_lines.c.account)
        )
        return {(r[0], r[1]): int(r[2]) for r in rows}
