"""Primary keys handed out before rows are written, so a batch's rows can be written together.

PostgreSQL draws blocks from each table's own sequence. SQLite has a single writer at a time
(every transaction begins IMMEDIATE), so the next ids after the table's largest are ours for
the life of the transaction. Ids of work that is undone are simply skipped (gaps are fine).
"""

from __future__ import annotations

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection

_BLOCK = 256


class IdAllocator:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._free: dict[str, list[int]] = {}
        self._next: dict[str, int] = {}

    def reset(self) -> None:
        """Forget SQLite's high-water marks: call at every transaction boundary."""
        self._next.clear()

    def next(self, table: Table) -> int:
        if self.conn.dialect.name == "postgresql":
            free = self._free.setdefault(table.name, [])
            if not free:
                free.extend(reversed(self._draw(table.name)))
            return free.pop()
        if table.name not in self._next:
            top = self.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
            self._next[table.name] = int(top) + 1
        value = self._next[table.name]
        self._next[table.name] = value + 1
        return value

    def _draw(self, name: str) -> list[int]:
        rows = self.conn.execute(
            text(
                f"select nextval(pg_get_serial_sequence('{name}', 'id')) "
                "from generate_series(1, :n)"
            ),
            {"n": _BLOCK},
        )
        return [int(i) for i in rows.scalars()]
