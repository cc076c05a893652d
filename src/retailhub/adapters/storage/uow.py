"""The SQL unit of work: one connection, one transaction, every repository bound to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from retailhub.adapters.storage.catalog_repo import SqlCatalogRepository
from retailhub.adapters.storage.exceptions_repo import SqlExceptionRepository
from retailhub.adapters.storage.inbox_repo import SqlInboxRepository
from retailhub.adapters.storage.inventory_repo import SqlInventoryRepository
from retailhub.adapters.storage.ledger_repo import SqlLedgerRepository
from retailhub.adapters.storage.orders_repo import SqlOrderRepository


class SqlUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        self.inbox = SqlInboxRepository(self.conn)
        self.exceptions = SqlExceptionRepository(self.conn)
        self.orders = SqlOrderRepository(self.conn)
        self.catalog = SqlCatalogRepository(self.conn)
        self.inventory = SqlInventoryRepository(self.conn)
        self.ledger = SqlLedgerRepository(self.conn)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tx.is_active:
            self._tx.rollback()
        self.conn.close()

    def commit(self) -> None:
        self._tx.commit()
        self._tx = self.conn.begin()

    def rollback(self) -> None:
        self._tx.rollback()
        self._tx = self.conn.begin()

    def savepoint(self) -> Any:
        return self.conn.begin_nested()


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys for every SQLite connection.

    WAL lets the API append to the inbox while a worker applies; ``synchronous=NORMAL`` in WAL
    mode is still durable against process crashes (kill -9), which is the failure we promise
    to survive; only an OS crash can lose the last transactions.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's events drive BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
        # failing with "database is locked" when one upgrades from a read.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
