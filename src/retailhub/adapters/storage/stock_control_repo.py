"""Transfers and cycle counts as recorded (commands, not deliveries: written directly)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import cycle_counts, stock_transfers
from retailhub.domain.stock_control import CycleCount, Transfer


@dataclass
class SqlStockControl:
    conn: Connection

    def transfer(self, reference: str) -> Transfer | None:
        row = self.conn.execute(
            select(stock_transfers).where(stock_transfers.c.reference == reference)
        ).first()
        return _transfer(row) if row else None

    def add_transfer(self, t: Transfer) -> None:
        self.conn.execute(
            insert(stock_transfers),
            {
                "reference": t.reference,
                "sku": t.sku,
                "source": t.source,
                "destination": t.destination,
                "quantity": t.quantity,
                "shipped_at": t.shipped_at,
            },
        )

    def mark_received(self, t: Transfer) -> None:
        self.conn.execute(
            update(stock_transfers)
            .where(stock_transfers.c.reference == t.reference)
            .values(received=t.received, received_at=t.received_at)
        )

    def open_transfers(self) -> list[Transfer]:
        rows = self.conn.execute(
            select(stock_transfers).where(stock_transfers.c.received.is_(None))
        )
        return [_transfer(r) for r in rows]

    def add_count(self, c: CycleCount) -> None:
        self.conn.execute(
            insert(cycle_counts),
            {
                "reference": c.reference,
                "sku": c.sku,
                "location": c.location,
                "counted": c.counted,
                "expected": c.expected,
                "reason": c.reason,
                "counted_at": c.counted_at,
            },
        )

    def counts(self) -> list[CycleCount]:
        return [
            CycleCount(
                r.sku, r.location, r.counted, r.expected, r.reason, r.counted_at, r.reference
            )
            for r in self.conn.execute(select(cycle_counts).order_by(cycle_counts.c.counted_at))
        ]


def _transfer(r: Any) -> Transfer:
    return Transfer(
        r.reference,
        r.sku,
        r.source,
        r.destination,
        r.quantity,
        r.shipped_at,
        r.received,
        r.received_at,
    )
