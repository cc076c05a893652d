"""Inventory movements (append-only) and the positions read model folded from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import (
    channel_stock_reports,
    inventory_movements,
    inventory_positions,
)
from retailhub.domain.inventory import Movement, Position

_BUCKETS = ("on_hand", "reserved", "in_transit", "quarantined")
_insert_movements = insert(inventory_movements)
_position = select(inventory_positions).where(
    inventory_positions.c.sku == bindparam("sku"),
    inventory_positions.c.location == bindparam("location"))
_report_at = select(channel_stock_reports.c.reported_at).where(
    channel_stock_reports.c.system == bindparam("system"),
    channel_stock_reports.c.item_external_id == bindparam("item"),
    channel_stock_reports.c.location_external_id == bindparam("location"))


def _fold_positions(ins: Any) -> Any:
    stmt = ins(inventory_positions)
    return stmt.on_conflict_do_update(
        index_elements=["sku", "location"],
        set_={b: getattr(inventory_positions.c, b) + getattr(stmt.excluded, b) for b in _BUCKETS},
    ).returning(*inventory_positions.c)


def _save_report(ins: Any) -> Any:
    stmt = ins(channel_stock_reports)
    return stmt.on_conflict_do_update(
        index_elements=["system", "item_external_id", "location_external_id"],
        set_={c: getattr(stmt.excluded, c) for c in ("available", "reported_at", "inbox_id")})


def _as_position(r: Any) -> Position:
    return Position(r.sku, r.location, r.on_hand, r.reserved, r.in_transit, r.quarantined,
                    r.safety_stock)


class SqlInventoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(self, movements: Iterable[Movement], inbox_id: int | None) -> list[Position]:
        """Append movements, fold them into positions, and return the positions they touched."""
        rows: list[dict[str, Any]] = [{
            "sku": m.sku, "location": m.location, "kind": m.kind.value, "on_hand": m.on_hand,
            "reserved": m.reserved, "in_transit": m.in_transit, "quarantined": m.quarantined,
            "occurred_at": m.occurred_at, "reason": m.reason, "reference": m.reference,
            "inbox_id": inbox_id,
        } for m in movements]
        if not rows:
            return []
        self.conn.execute(_insert_movements, rows)
        deltas: dict[tuple[str, str], dict[str, int]] = {}
        for r in rows:  # one upsert per (sku, location), however many movements touch it
            d = deltas.setdefault((r["sku"], r["location"]), dict.fromkeys(_BUCKETS, 0))
            for bucket in _BUCKETS:
                d[bucket] += r[bucket]
        stmt = prebuilt(self.conn, "positions.fold", _fold_positions)
        touched = []
        for (sku, location), d in deltas.items():
            row = self.conn.execute(
                stmt, {"sku": sku, "location": location, "safety_stock": 0, **d}).one()
            touched.append(_as_position(row))
        return touched

    def position(self, sku: str, location: str) -> Position:
        row = self.conn.execute(_position, {"sku": sku, "location": location}).first()
        return _as_position(row) if row is not None else Position(sku, location)

    def positions(self, sku: str) -> list[Position]:
        stmt = (select(inventory_positions).where(inventory_positions.c.sku == sku)
                .order_by(inventory_positions.c.location))
        return [_as_position(r) for r in self.conn.execute(stmt)]

    def channel_report_at(self, system: str, item: str, location: str) -> datetime | None:
        return self.conn.execute(
            _report_at, {"system": system, "item": item, "location": location}).scalar()

    def save_channel_report(self, system: str, item: str, location: str, sku: str,
                            location_code: str, available: int, at: datetime,
                            inbox_id: int) -> None:
        self.conn.execute(prebuilt(self.conn, "stock_reports.save", _save_report), {
            "system": system, "item_external_id": item, "location_external_id": location,
            "sku": sku, "location": location_code, "available": available, "reported_at": at,
            "inbox_id": inbox_id})
