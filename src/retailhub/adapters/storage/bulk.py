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
from datetime import date
from operator import itemgetter
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


def executemany(
    conn: Connection, name: str, stmt: ClauseElement, rows: Sequence[dict[str, Any]]
) -> None:
    """Execute ``stmt`` once per row; every row must have the same keys."""
    if not rows:
        return
    key = (conn.dialect.name, name)
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _prepare(conn, name, stmt, list(rows[0]))
    names = prepared.names
    if prepared.defaults:  # constants in the statement (status="applied") are binds too
        rows = [{**prepared.defaults, **row} for row in rows]
    # Column-wise: pick the values out in C (itemgetter), convert only the columns that have a
    # bind processor, and zip the columns back into rows.
    picked = (
        list(map(itemgetter(*names), rows))
        if len(names) > 1
        else [(row[names[0]],) for row in rows]
    )
    columns = list(zip(*picked, strict=True))
    for i, n in enumerate(names):
        proc = prepared.processors[n]
        if proc is not None:
            columns[i] = _convert(proc, columns[i])
    params: list[Any] = list(zip(*columns, strict=True))
    if not prepared.positional:
        params = [dict(zip(names, values, strict=True)) for values in params]
    conn.exec_driver_sql(prepared.sql, params)


def _convert(proc: Callable[[Any], Any], column: Sequence[Any]) -> tuple[Any, ...]:
    """Apply a bind processor down a column, once per distinct date or time.

    A batch's timestamps repeat (every line of an entry, every movement of a fulfilment), and
    formatting a datetime is the costliest processor there is.
    """
    sample = next((v for v in column if v is not None), None)
    if not isinstance(sample, date):  # datetime is a date too
        return tuple(proc(v) if v is not None else None for v in column)
    seen: dict[Any, Any] = {}
    out: list[Any] = []
    for v in column:
        if v is None:
            out.append(None)
        elif v in seen:
            out.append(seen[v])
        else:
            out.append(seen.setdefault(v, proc(v)))
    return tuple(out)


def raw_rows(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """A plain SELECT straight on the driver, for reads of many rows of plain values.

    Write placeholders as ``?``; they are adapted to the driver's style. Only for columns that
    need no type conversion (integers, text, bytes): SQLAlchemy's result processing is skipped.
    """
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def marks(n: int) -> str:
    """``?, ?, ?`` for an IN list of ``n`` values."""
    return ", ".join("?" * n)
