"""The general ledger: journal entries posted once per idempotency key, never updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import accounts, journal_entries, journal_lines
from retailhub.domain.accounts import account_type
from retailhub.domain.ledger import JournalEntry

_insert_lines = insert(journal_lines)


def _insert_entry(ins: Any) -> Any:
    return (ins(journal_entries).on_conflict_do_nothing(index_elements=["key"])
            .returning(journal_entries.c.id))


def _open_account(ins: Any) -> Any:
    return ins(accounts).on_conflict_do_nothing(index_elements=["account"])


class SqlLedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def post(self, entry: JournalEntry, inbox_id: int | None, at: datetime) -> bool:
        entry_id = self.conn.execute(prebuilt(self.conn, "ledger.entry", _insert_entry), {
            "key": entry.key, "entry_date": entry.entry_date, "memo": entry.memo,
            "source_kind": entry.source.kind, "document_id": entry.source.document_id,
            "event": entry.source.event, "rule": entry.rule, "reverses": entry.reverses,
            "inbox_id": inbox_id, "posted_at": at,
        }).scalar()
        if entry_id is None:
            return False  # this (document, rule) was posted before: exactly once
        self.conn.execute(_insert_lines, [
            {"entry_id": entry_id, "account": line.account, "amount": line.amount,
             "currency": line.currency, "memo": line.memo, "channel": line.channel,
             "location": line.location, "brand": line.brand}
            for line in entry.lines])
        return True

    def open_accounts(self, names: list[str], on: Any) -> None:
        """Record the chart's accounts. Posting never needs this: derived accounts (a new tax
        jurisdiction) simply appear in journal lines, which are the ledger's truth."""
        if names:
            self.conn.execute(prebuilt(self.conn, "ledger.account", _open_account), [
                {"account": a, "type": account_type(a).value, "opened_on": on} for a in names])

    def trial_balance(self) -> dict[tuple[str, str], int]:
        rows = self.conn.execute(
            select(journal_lines.c.account, journal_lines.c.currency,
                   func.sum(journal_lines.c.amount))
            .group_by(journal_lines.c.account, journal_lines.c.currency)
            .order_by(journal_lines.c.account))
        return {(r[0], r[1]): int(r[2]) for r in rows}
