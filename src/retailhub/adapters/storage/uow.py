"""The SQL unit of work: one connection, one transaction, every repository bound to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.catalog_repo import CatalogCache, SqlCatalogRepository
from retailhub.adapters.storage.erp_repo import SqlErpPostingRepository
from retailhub.adapters.storage.exceptions_repo import SqlExceptionRepository
from retailhub.adapters.storage.ids import IdAllocator
from retailhub.adapters.storage.inbox_repo import SqlInboxRepository
from retailhub.adapters.storage.inventory_repo import SqlInventoryRepository
from retailhub.adapters.storage.ledger_repo import SqlLedgerRepository
from retailhub.adapters.storage.orders_repo import SqlOrderRepository
from retailhub.adapters.storage.payments_repo import SqlPaymentRepository
from retailhub.adapters.storage.prices_repo import SqlPriceRepository
from retailhub.adapters.storage.registers_repo import SqlRegisterRepository
from retailhub.adapters.storage.settlements_repo import SqlSettlementRepository


class SqlUnitOfWork:
    """A transaction plus the write buffer that is flushed into it on commit."""

    def __init__(self, engine: Engine, catalog_cache: CatalogCache | None = None) -> None:
        self.engine = engine
        self.catalog_cache = catalog_cache
        self.buffer = WriteBuffer()
        self._savepoints = 0
        self.conn: Connection

    def __enter__(self) -> SqlUnitOfWork:
        self.conn = self.engine.connect()
        self._tx = self.conn.begin()
        self.ids = IdAllocator(self.conn)
        self.inbox = SqlInboxRepository(self.conn, self.buffer, self.ids)
        self.exceptions = SqlExceptionRepository(self.conn)
        self.orders = SqlOrderRepository(self.conn, self.buffer, self.ids)
        self.catalog = SqlCatalogRepository(self.conn, self.catalog_cache)
        self.inventory = SqlInventoryRepository(self.conn, self.buffer)
        self.ledger = SqlLedgerRepository(self.conn, self.buffer, self.ids)
        self.payments = SqlPaymentRepository(self.conn, self.buffer)
        self.settlements = SqlSettlementRepository(self.conn, self.buffer, self.ids)
        self.registers = SqlRegisterRepository(self.conn, self.buffer)
        self.prices = SqlPriceRepository(self.conn, self.buffer)
        self.erp = SqlErpPostingRepository(self.conn)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tx.is_active:
            self._tx.rollback()
        self.conn.close()

    def flush(self) -> None:
        """Write buffered rows into the open transaction (commit calls this first)."""
        self.orders.flush()  # customers, orders and lines first: the rest refer to them
        self.ledger.flush()
        self.inventory.flush()
        self.payments.flush()
        self.settlements.flush()
        self.registers.flush()
        self.prices.flush()
        self.inbox.flush()
        self.buffer.reset()

    def commit(self) -> None:
        self.flush()
        self._tx.commit()
        self.ids.reset()  # SQLite ids are only ours inside one transaction
        self._tx = self.conn.begin()

    def rollback(self) -> None:
        self.buffer.reset()
        self.orders.discard()
        self.inventory.discard()
        self.ledger.discard()
        self.payments.discard()
        self.settlements.discard()
        self.registers.discard()
        self.prices.discard()
        self.ids.reset()
        self._tx.rollback()
        self._tx = self.conn.begin()

    def savepoint(self) -> _Savepoint:
        self._savepoints += 1
        return _Savepoint(self, f"rh_sp_{self._savepoints}")


class _Savepoint:
    """A mark in the write buffer's undo log: leaving with an exception undoes what came after.

    Handlers never write to the database directly (repositories buffer every change until
    commit), so undoing the buffer is the whole rollback; no SQL savepoint is needed.
    """

    def __init__(self, uow: SqlUnitOfWork, name: str) -> None:
        self.uow, self.name = uow, name

    def __enter__(self) -> _Savepoint:
        self.mark = self.uow.buffer.mark()
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is not None:
            self.uow.buffer.undo_to(self.mark)


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
        # 16 KiB pages (before WAL is on; only a new database takes it): a raw Shopify delivery
        # (~10 KB) then fits in one page instead of a chain of overflow pages.
        cur.execute("PRAGMA page_size=16384")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        # 64 MiB of page cache (the default is 2 MiB): the inbox and ledger outgrow it fast.
        cur.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL every ~40 MB (2,500 pages) rather than every 1,000 pages:
        # each checkpoint ends in an fsync.
        cur.execute("PRAGMA wal_autocheckpoint=2500")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of
        # failing with "database is locked" when one upgrades from a read.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
