"""Prices: the owner's price list per SKU, channels' last reports, and changes to push back.

Writes made while applying a delivery are held until the batch commits, like the other
repositories, so a delivery rolled back by its savepoint leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import channel_updates, price_reports, prices
from retailhub.domain.money import Money
from retailhub.domain.pricing import PriceEntry
from retailhub.services.channel_updates import OwedUpdate

_PRICE_COLUMNS = ("effective_to", "price", "currency")


def _upsert_price(ins: Any) -> Any:
    stmt = ins(prices)
    return stmt.on_conflict_do_update(
        index_elements=["sku", "channel", "location", "effective_from"],
        set_={c: getattr(stmt.excluded, c) for c in _PRICE_COLUMNS},
    )


def _upsert_report(ins: Any) -> Any:
    stmt = ins(price_reports)
    return stmt.on_conflict_do_update(
        index_elements=["system", "variant_id"],
        set_={c: getattr(stmt.excluded, c) for c in ("sku", "price", "currency", "reported_at")},
    )


def price_row(e: PriceEntry) -> dict[str, Any]:
    return {
        "sku": e.sku,
        "channel": e.channel,
        "location": e.location or "",
        "effective_from": e.effective_from,
        "effective_to": e.effective_to,
        "price": e.price.amount,
        "currency": e.price.currency,
    }


@dataclass
class SqlPriceRepository:
    conn: Connection
    buffer: WriteBuffer

    def __post_init__(self) -> None:
        self._entries: list[dict[str, Any]] = []
        self._reports: dict[tuple[str, str], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []

    def entries(self, sku: str) -> list[PriceEntry]:
        stored = [
            PriceEntry(
                r.sku,
                r.channel,
                Money(r.price, r.currency),
                r.effective_from,
                r.effective_to,
                r.location or None,
            )
            for r in self.conn.execute(select(prices).where(prices.c.sku == sku))
        ]
        held = [
            PriceEntry(
                r["sku"],
                r["channel"],
                Money(r["price"], r["currency"]),
                r["effective_from"],
                r["effective_to"],
                r["location"] or None,
            )
            for r in self._entries
            if r["sku"] == sku
        ]
        keys = {(e.channel, e.location, e.effective_from) for e in held}
        return [e for e in stored if (e.channel, e.location, e.effective_from) not in keys] + held

    def add_entry(self, entry: PriceEntry) -> None:
        self._entries.append(price_row(entry))
        self.buffer.on_undo(lambda: _drop_last(self._entries))

    def report_at(self, system: str, variant_id: str) -> datetime | None:
        held = self._reports.get((system, variant_id))
        if held is not None:
            return held["reported_at"]  # type: ignore[no-any-return]
        return self.conn.execute(
            select(price_reports.c.reported_at).where(
                price_reports.c.system == system, price_reports.c.variant_id == variant_id
            )
        ).scalar()

    def save_report(
        self, system: str, variant_id: str, sku: str, price: Money, at: datetime
    ) -> None:
        key = (system, variant_id)
        before = self._reports.get(key)
        self._reports[key] = {
            "system": system,
            "variant_id": variant_id,
            "sku": sku,
            "price": price.amount,
            "currency": price.currency,
            "reported_at": at,
        }

        def undo() -> None:
            if before is None:
                self._reports.pop(key, None)
            else:
                self._reports[key] = before

        self.buffer.on_undo(undo)

    def queue_update(
        self,
        system: str,
        kind: str,
        target: str,
        sku: str,
        payload: dict[str, Any],
        reason: str,
        at: datetime,
    ) -> None:
        self._updates.append(
            {
                "system": system,
                "kind": kind,
                "target": target,
                "sku": sku,
                "payload": payload,
                "reason": reason,
                "created_at": at,
                "status": "pending",
            }
        )
        self.buffer.on_undo(lambda: _drop_last(self._updates))

    def flush(self) -> None:
        if self._entries:
            self.conn.execute(prebuilt(self.conn, "prices.upsert", _upsert_price), self._entries)
        if self._reports:
            self.conn.execute(
                prebuilt(self.conn, "prices.report", _upsert_report), list(self._reports.values())
            )
        if self._updates:
            self.conn.execute(insert(channel_updates), self._updates)
        self.discard()

    def discard(self) -> None:
        self._entries.clear()
        self._reports.clear()
        self._updates.clear()


def _drop_last(rows: list[dict[str, Any]]) -> None:
    rows.pop()


@dataclass
class SqlChannelUpdates:
    """The outbox of owed channel changes (commands: written directly)."""

    conn: Connection

    def pending(self, limit: int) -> list[OwedUpdate]:
        rows = self.conn.execute(
            select(channel_updates)
            .where(channel_updates.c.status == "pending")
            .order_by(channel_updates.c.id)
            .limit(limit)
        )
        return [OwedUpdate(r.id, r.system, r.kind, r.target, r.sku, r.payload) for r in rows]

    def mark(self, update_id: int, sent: bool, answer: str, at: datetime) -> None:
        self.conn.execute(
            update(channel_updates)
            .where(channel_updates.c.id == update_id)
            .values(status="sent" if sent else "failed", sent_at=at, answer=answer)
        )

    def all(self) -> list[dict[str, Any]]:
        return [
            dict(r._mapping)
            for r in self.conn.execute(select(channel_updates).order_by(channel_updates.c.id))
        ]
