"""Register drawers: the cash each should hold per business day, and what was counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import register_cash

Drawer = tuple[str, str, date]  # (location, register, business day)
Count = tuple[int, int]  # (counted, opening float)


def _add_cash(ins: Any) -> Any:
    stmt = ins(register_cash)
    return stmt.on_conflict_do_update(
        index_elements=["location", "register", "business_day"],
        set_={
            "expected_cash": register_cash.c.expected_cash + stmt.excluded.expected_cash,
            "counted": func.coalesce(stmt.excluded.counted, register_cash.c.counted),
            "opening_float": func.coalesce(
                stmt.excluded.opening_float, register_cash.c.opening_float
            ),
        },
    )


@dataclass
class SqlRegisterRepository:
    """Cash deltas and counts are held until the batch commits, undone with its savepoints."""

    conn: Connection
    buffer: WriteBuffer

    def __post_init__(self) -> None:
        self._cash: dict[Drawer, int] = {}
        self._counts: dict[Drawer, Count] = {}

    def add_cash(self, location: str, register: str, day: date, amount: int) -> None:
        key = (location, register, day)
        self._cash[key] = self._cash.get(key, 0) + amount

        def undo() -> None:
            self._cash[key] -= amount

        self.buffer.on_undo(undo)

    def set_counted(
        self, location: str, register: str, day: date, counted: int, opening_float: int
    ) -> None:
        key = (location, register, day)
        before = self._counts.get(key)
        self._counts[key] = (counted, opening_float)

        def undo() -> None:
            if before is None:
                self._counts.pop(key, None)
            else:
                self._counts[key] = before

        self.buffer.on_undo(undo)

    def _stored(self, key: Drawer) -> Any:
        location, register, day = key
        return self.conn.execute(
            select(
                register_cash.c.expected_cash,
                register_cash.c.counted,
                register_cash.c.opening_float,
            ).where(
                register_cash.c.location == location,
                register_cash.c.register == register,
                register_cash.c.business_day == day,
            )
        ).first()

    def drawer(self, location: str, register: str, day: date) -> tuple[int, int | None]:
        key = (location, register, day)
        row = self._stored(key)
        expected = (row[0] if row else 0) + self._cash.get(key, 0)
        if key in self._counts:
            return expected, self._counts[key][0]
        return expected, row[1] if row else None

    def opening_float(self, location: str, register: str, day: date) -> int:
        key = (location, register, day)
        if key in self._counts:
            return self._counts[key][1]
        row = self._stored(key)
        return int(row[2]) if row and row[2] is not None else 0

    def flush(self) -> None:
        keys = set(self._cash) | set(self._counts)
        rows = [
            {
                "location": k[0],
                "register": k[1],
                "business_day": k[2],
                "expected_cash": self._cash.get(k, 0),
                "counted": self._counts[k][0] if k in self._counts else None,
                "opening_float": self._counts[k][1] if k in self._counts else None,
            }
            for k in sorted(keys)
        ]
        self.discard()
        if rows:
            self.conn.execute(prebuilt(self.conn, "registers.cash", _add_cash), rows)

    def discard(self) -> None:
        self._cash.clear()
        self._counts.clear()
