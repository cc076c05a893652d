"""Writes held until the batch commits, with an undo log for per-delivery savepoints.

Appending a journal line or an inventory movement one statement at a time costs more than the
rest of applying a delivery, so append-only rows (and position deltas, inbox marks) are kept in
memory and written with one ``executemany`` per table when the batch commits — inside the same
transaction, so a crash still loses either the whole batch or nothing. A delivery that fails
part-way rolls its buffered rows back through the undo log, exactly like a SQL savepoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class WriteBuffer:
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # An undo entry is either a list (pop its last row) or a function to call.
    _undo: list[list[dict[str, Any]] | Callable[[], None]] = field(default_factory=list)

    def append(self, table: str, row: dict[str, Any]) -> None:
        target = self.rows.get(table)
        if target is None:
            target = self.rows[table] = []
        target.append(row)
        self._undo.append(target)

    def on_undo(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def mark(self) -> int:
        return len(self._undo)

    def undo_to(self, mark: int) -> None:
        while len(self._undo) > mark:
            entry = self._undo.pop()
            if isinstance(entry, list):
                entry.pop()
            else:
                entry()

    def take(self, table: str) -> list[dict[str, Any]]:
        return self.rows.pop(table, [])

    def reset(self) -> None:
        self.rows.clear()
        self._undo.clear()
