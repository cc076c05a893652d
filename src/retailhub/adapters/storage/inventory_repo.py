"""Inventory movements (append-only) and the positions read model folded from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany
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
    inventory_positions.c.location == bindparam("location"),
)
_report_at = select(channel_stock_reports.c.reported_at).where(
    channel_stock_reports.c.system == bindparam("system"),
    channel_stock_reports.c.item_external_id == bindparam("item"),
    channel_stock_reports.c.location_external_id == bindparam("location"),
)


def _fold_positions(ins: Any) -> Any:
    stmt = ins(inventory_positions)
    return stmt.on_conflict_do_update(
        index_elements=["sku", "location"],
        set_={b: getattr(inventory_positions.c, b) + getattr(stmt.excluded, b) for b in _BUCKETS},
    )


def _save_report(ins: Any) -> Any:
    stmt = ins(channel_stock_reports)
    return stmt.on_conflict_do_update(
        index_elements=["system", "item_external_id", "location_external_id"],
        set_={c: getattr(stmt.excluded, c) for c in ("available", "reported_at", "inbox_id")},
    )


def _as_position(r: Any) -> Position:
    return Position(
        r.sku, r.location, r.on_hand, r.reserved, r.in_transit, r.quarantined, r.safety_stock
    )


class SqlInventoryRepository:
    """Movements and position deltas are buffered until the batch commits (see ``buffer``)."""

    def __init__(self, conn: Connection, buffer: WriteBuffer) -> None:
        self.conn = conn
        self.buffer = buffer
        self._stored: dict[tuple[str, str], Position] = {}  # positions as committed
        self._deltas: dict[tuple[str, str], list[int]] = {}  # this batch's changes
        self._reports: dict[tuple[str, str, str], dict[str, Any]] = {}  # channel stock figures
        self._complete: set[str] = set()  # SKUs whose every stored position is in _stored
        self._changed: set[str] = set()  # SKUs whose stock was written, for the channel push

    def record(self, movements: Iterable[Movement], inbox_id: int | None) -> None:
        """Append movements and fold them into positions (both written when the batch commits)."""
        for m in movements:
            self.buffer.append(
                "movements",
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
                },
            )
            self._add((m.on_hand, m.reserved, m.in_transit, m.quarantined), (m.sku, m.location))

    def _add(self, change: tuple[int, int, int, int], key: tuple[str, str]) -> None:
        delta = self._deltas.setdefault(key, [0, 0, 0, 0])
        for i, amount in enumerate(change):
            delta[i] += amount

        def undo() -> None:
            for i, amount in enumerate(change):
                delta[i] -= amount

        self.buffer.on_undo(undo)

    def prefetch(self, skus: Iterable[str]) -> None:
        """Read the stored positions of the batch's SKUs in a few queries."""
        wanted = sorted({s for s in skus} - {k[0] for k in self._stored})
        for i in range(0, len(wanted), 400):
            chunk = wanted[i : i + 400]
            found = {
                (r.sku, r.location): _as_position(r)
                for r in self.conn.execute(
                    select(inventory_positions).where(inventory_positions.c.sku.in_(chunk))
                )
            }
            self._stored.update(found)
            self._complete.update(chunk)

    def _stored_position(self, sku: str, location: str) -> Position:
        key = (sku, location)
        if key not in self._stored and sku in self._complete:
            return Position(sku, location)  # prefetched: there is no stored row
        if key not in self._stored:
            row = self.conn.execute(_position, {"sku": sku, "location": location}).first()
            self._stored[key] = _as_position(row) if row is not None else Position(sku, location)
        return self._stored[key]

    def position(self, sku: str, location: str) -> Position:
        stored = self._stored_position(sku, location)
        delta = self._deltas.get((sku, location))
        if not delta:
            return stored
        return Position(
            sku,
            location,
            stored.on_hand + delta[0],
            stored.reserved + delta[1],
            stored.in_transit + delta[2],
            stored.quarantined + delta[3],
            stored.safety_stock,
        )

    def flush(self) -> None:
        """Write the batch's movements and fold its deltas into the stored positions."""
        executemany(self.conn, "movements", _insert_movements, self.buffer.take("movements"))
        executemany(
            self.conn,
            "positions.fold",
            prebuilt(self.conn, "positions.fold", _fold_positions),
            [
                {
                    "sku": sku,
                    "location": loc,
                    "on_hand": d[0],
                    "reserved": d[1],
                    "in_transit": d[2],
                    "quarantined": d[3],
                    "safety_stock": 0,
                }
                for (sku, loc), d in self._deltas.items()
                if any(d)
            ],
        )
        if self._reports:
            self.conn.execute(
                prebuilt(self.conn, "stock_reports.save", _save_report),
                list(self._reports.values()),
            )
        self._changed.update(sku for (sku, _), d in self._deltas.items() if any(d))
        self._stored.clear()
        self._complete.clear()
        self._deltas.clear()
        self._reports.clear()

    def changed_skus(self) -> set[str]:
        """SKUs whose stock this unit of work has written since the last call."""
        changed, self._changed = self._changed, set()
        return changed

    def discard(self) -> None:
        self._reports.clear()
        self._complete.clear()
        self._stored.clear()
        self._deltas.clear()

    def channel_report_at(self, system: str, item: str, location: str) -> datetime | None:
        pending = self._reports.get((system, item, location))
        if pending is not None:
            return pending["reported_at"]  # type: ignore[no-any-return]
        return self.conn.execute(
            _report_at, {"system": system, "item": item, "location": location}
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
        key = (system, item, location)
        previous = self._reports.get(key)
        self._reports[key] = {
            "system": system,
            "item_external_id": item,
            "location_external_id": location,
            "sku": sku,
            "location": location_code,
            "available": available,
            "reported_at": at,
            "inbox_id": inbox_id,
        }

        def undo() -> None:
            if previous is None:
                self._reports.pop(key, None)
            else:
                self._reports[key] = previous

        self.buffer.on_undo(undo)
