"""Inventory movements (append-only) and the positions read model folded from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import (
    channel_stock_reports,
    inventory_movements,
    inventory_positions,
)
from retailhub.domain.inventory import Movement, Position

_BUCKETS = ("on_hand", "reserved", "in_transit", "quarantined")


class SqlInventoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, movements: Iterable[Movement], inbox_id: int | None) -> None:
        rows: list[dict[str, Any]] = [
            {
                "sku": m.sku,
                "location": m.location,
                "kind": m.kind.value,
                "on_hand": m.on_hand,
                "reserved": m.reserved,
                "in_transit": m.in_transit,
                "quarantined": m.quarantined,
                "occurred_at": m.occurred_at,
                "reason": m.reason,
                "reference": m.reference,
                "inbox_id": inbox_id,
            }
            for m in movements
        ]
        if not rows:
            return
        self.conn.execute(insert(inventory_movements), rows)
        # Fold the deltas into the positions in the same transaction (one upsert per key).
        deltas: dict[tuple[str, str], dict[str, int]] = {}
        for r in rows:
            d = deltas.setdefault((r["sku"], r["location"]), dict.fromkeys(_BUCKETS, 0))
            for bucket in _BUCKETS:
                d[bucket] += r[bucket]
        stmt = insert_for(self.conn, inventory_positions)
        stmt = stmt.on_conflict_do_update(
            index_elements=["sku", "location"],
            set_={
                b: getattr(inventory_positions.c, b) + getattr(stmt.excluded, b) for b in _BUCKETS
            },
        )
        self.conn.execute(
            stmt,
            [
                {"sku": sku, "location": loc, "safety_stock": 0, **d}
                for (sku, loc), d in deltas.items()
            ],
        )

    def position(self, sku: str, location: str) -> Position:
        row = self.conn.execute(
            select(inventory_positions).where(
                inventory_positions.c.sku == sku, inventory_positions.c.location == location
            )
        ).first()
        if row is None:
            return Position(sku, location)
        return Position(
            sku,
            location,
            row.on_hand,
            row.reserved,
            row.in_transit,
            row.quarantined,
            row.safety_stock,
        )

    def positions(self, sku: str) -> list[Position]:
        return [
            Position(
                r.sku,
                r.location,
                r.on_hand,
                r.reserved,
                r.in_transit,
                r.quarantined,
                r.safety_stock,
            )
            for r in self.conn.execute(
                select(inventory_positions)
                .where(inventory_positions.c.sku == sku)
                .order_by(inventory_positions.c.location)
            )
        ]

    def channel_report_at(self, system: str, item: str, location: str) -> datetime | None:
        return self.conn.execute(
            select(channel_stock_reports.c.reported_at).where(
                channel_stock_reports.c.system == system,
                channel_stock_reports.c.item_external_id == item,
                channel_stock_reports.c.location_external_id == location,
            )
        ).scalar()

    def save_channel_report(
        self,
        system: str,
        item: str,
        location: str,
        sku: str,
        location_code: str,
        available: int,
        at: datetime,
        inbox_id: int,
    ) -> None:
        stmt = insert_for(self.conn, channel_stock_reports).values(
            system=system,
            item_external_id=item,
            location_external_id=location,
            sku=sku,
            location=location_code,
            available=available,
            reported_at=at,
            inbox_id=inbox_id,
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["system", "item_external_id", "location_external_id"],
                set_={"available": available, "reported_at": at, "inbox_id": inbox_id},
            )
        )
