"""Many rows through one statement, at the driver's speed.

SQLAlchemy builds parameters row by row (type processing, defaults, key checks), which costs
more than SQLite spends writing the row. For the batch flush we compile each statement once
per dialect, take its SQL text and bind processors, and hand the driver ``executemany`` with
ready parameters. The values still go through SQLAlchemy's own bind processors, so what is
stored is byte for byte what the ordinary path would store (dates, JSON, our UTC type).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None  # SQLAlchemy's _BindProcessorType


@dataclass(frozen=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: dict[str, Processor]
    positional: bool


_PREPARED: dict[tuple[str, str], _Prepared] = {}


def _prepare(conn: Connection, name: str, stmt: ClauseElement, keys: Sequence[str]) -> _Prepared:
    dialect = conn.dialect
    compiled = cast(SQLCompiler, stmt.compile(dialect=dialect, column_keys=list(keys)))
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    defaults = {n: b.effective_value for n, b in compiled.binds.items() if n not in keys}
    processors: dict[str, Processor] = {
        n: cast(Processor, b.type._cached_bind_processor(dialect))  # as execute() applies
        for n, b in compiled.binds.items()
    }
    return _Prepared(str(compiled), names, defaults, processors, positional)


def executemany(conn: Connection, name: str, stmt: ClauseElement,
                rows: Sequence[dict[str, Any]]) -> None:
    """Execute ``stmt`` once per row; every row must have the same keys."""
    if not rows:
        return
    key = (conn.dialect.name, name)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _prepare(conn, name, stmt, list(rows[0]))
    defaults, names = prepared.defaults, prepared.names
    steps = [(n, prepared.processors[n], n in defaults) for n in names]
    params: list[Any] = []
    for row in rows:
        values = []
        for n, proc, has_default in steps:
            value = defaults[n] if has_default and n not in row else row[n]
            if proc is not None and value is not None:
                value = proc(value)
            values.append(value)
        params.append(tuple(values) if prepared.positional else dict(zip(names, values,
                                                                           strict=True)))
    conn.exec_driver_sql(prepared.sql, params)
