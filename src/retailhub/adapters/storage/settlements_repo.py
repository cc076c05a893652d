"""Settlements as imported: the payout and every line of it, stored once per (gateway, id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany
from retailhub.adapters.storage.ids import IdAllocator
from retailhub.adapters.storage.tables import settlement_lines, settlements
from retailhub.domain.settlements import Settlement

_insert_settlement = insert(settlements)
_insert_lines = insert(settlement_lines)


@dataclass
class SqlSettlementRepository:
    conn: Connection
    buffer: WriteBuffer
    ids: IdAllocator

    def __post_init__(self) -> None:
        self._pending: dict[tuple[str, str], tuple[dict[str, Any], list[dict[str, Any]]]] = {}

    def exists(self, gateway: str, settlement_id: str) -> bool:
        if (gateway, settlement_id) in self._pending:
            return True
        found = self.conn.execute(
            select(settlements.c.id).where(
                settlements.c.gateway == gateway, settlements.c.settlement_id == settlement_id
            )
        ).first()
        return found is not None

    def add(self, settlement: Settlement, origin: str, at: datetime) -> None:
        pk = self.ids.next(settlements)
        head = {
            "id": pk,
            "gateway": settlement.gateway,
            "settlement_id": settlement.settlement_id,
            "currency": settlement.currency,
            "total": settlement.total,
            "deposit_date": settlement.deposit_date,
            "period_start": settlement.period_start,
            "period_end": settlement.period_end,
            "origin": origin,
            "imported_at": at,
        }
        lines = [
            {
                "settlement_pk": pk,
                "gateway": line.gateway,
                "settlement_id": line.settlement_id,
                "line_no": line.line_no,
                "kind": line.kind.value,
                "amount": line.amount,
                "currency": line.currency,
                "occurred_at": line.occurred_at,
                "transaction_id": line.transaction_id,
                "order_ref": line.order_ref,
                "description": line.description,
                "original_amount": line.original_amount,
                "original_currency": line.original_currency,
            }
            for line in settlement.lines
        ]
        key = (settlement.gateway, settlement.settlement_id)
        self._pending[key] = (head, lines)

        def undo() -> None:
            self._pending.pop(key, None)

        self.buffer.on_undo(undo)

    def flush(self) -> None:
        pending = list(self._pending.values())
        self._pending.clear()
        if not pending:
            return
        executemany(self.conn, "settlements", _insert_settlement, [h for h, _ in pending])
        executemany(
            self.conn, "settlement_lines", _insert_lines, [r for _, rows in pending for r in rows]
        )

    def discard(self) -> None:
        self._pending.clear()
