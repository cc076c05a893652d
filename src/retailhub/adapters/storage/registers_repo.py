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


def _add_cash(ins: Any) -> Any:
    stmt = ins(register_cash)
    return stmt.on_conflict_do_update(
        index_elements=["location", "register", "business_day"],
        set_={
            "expected_cash": register_cash.c.expected_cash + stmt.excluded.expected_cash,
            "counted": func.coalesce(stmt.excluded.counted, register_cash.c.counted),
        },
    )


@dataclass
class SqlRegisterRepository:
    conn: Connection
    buffer: WriteBuffer

    def __post_init__(self) -> None:
        self._cash: dict[Drawer, int] = {}
        self._counted: dict[Drawer, int] = {}

    def add_cash(self, location: str, register: str, day: date, amount: int) -> None:
        key = (location, register, day)
        self._cash[key] = self._cash.get(key, 0) + amount

        def undo() -> None:
            self._cash[key] -= amount

        self.buffer.on_undo(undo)

    def set_counted(self, location: str, register: str, day: date, counted: int) -> None:
        key = (location, register, day)
        before = self._counted.get(key)
        self._counted[key] = counted

        def undo() -> None:
            if before is None:
                self._counted.pop(key, None)
            else:
                self._counted[key] = before

        self.buffer.on_undo(undo)

    def drawer(self, location: str, register: str, day: date) -> tuple[int, int | None]:
        """(cash expected from the day's takings, count recorded so far) for one drawer."""
        key = (location, register, day)
        row = self.conn.execute(
            select(register_cash.c.expected_cash, register_cash.c.counted).where(
                register_cash.c.location == location,
                register_cash.c.register == register,
                register_cash.c.business_day == day,
            )
        ).first()
        expected = (row[0] if row else 0) + self._cash.get(key, 0)
        counted = self._counted.get(key, row[1] if row else None)
        return expected, counted

    def flush(self) -> None:
        keys = set(self._cash) | set(self._counted)
        rows = [
            {
                "location": k[0],
                "register": k[1],
                "business_day": k[2],
                "expected_cash": self._cash.get(k, 0),
                "counted": self._counted.get(k),
            }
            for k in sorted(keys)
        ]
        self.discard()
        if rows:
            self.conn.execute(prebuilt(self.conn, "registers.cash", _add_cash), rows)

    def discard(self) -> None:
        self._cash.clear()
        self._counted.clear()
