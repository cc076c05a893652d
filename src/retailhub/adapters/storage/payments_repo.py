"""Expected receipts: every capture, refund and chargeback the hub knows, one row per receipt.

Rows are kept in memory until the batch commits (like the ledger's), so a delivery rolled
back by its savepoint takes its receipts with it; the flush is one upsert per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany
from retailhub.adapters.storage.dialect import prebuilt
from retailhub.adapters.storage.tables import payments
from retailhub.domain.orders import ExternalRef
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.services.ports import StoredReceipt

_UPDATED = ("amount", "occurred_at", "transaction_id", "status", "inbox_id", "recorded_at")


def _upsert(ins: Any) -> Any:
    stmt = ins(payments)
    return stmt.on_conflict_do_update(
        index_elements=["receipt_id"], set_={c: getattr(stmt.excluded, c) for c in _UPDATED}
    )


@dataclass
class SqlPaymentRepository:
    conn: Connection
    buffer: WriteBuffer

    def __post_init__(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}
        # Stored receipts of the orders a batch touches, read in one go (``prefetch``).
        self._by_order: dict[str, dict[str, dict[str, Any]]] = {}

    def prefetch(self, order_ids: Iterable[str]) -> None:
        wanted = [o for o in set(order_ids) if o not in self._by_order]
        for order_id in wanted:
            self._by_order[order_id] = {}
        for i in range(0, len(wanted), 500):
            for r in self.conn.execute(
                select(payments).where(payments.c.order_id.in_(wanted[i : i + 500]))
            ):
                self._by_order[r.order_id][r.receipt_id] = dict(r._mapping)

    def record(
        self,
        receipt: ExpectedReceipt,
        order: ExternalRef | None,
        status: str,
        inbox_id: int | None,
        at: datetime,
    ) -> None:
        key = receipt.receipt_id
        before = self._pending.get(key)
        self._pending[key] = {
            "receipt_id": key,
            "gateway": receipt.gateway,
            "kind": receipt.kind.value,
            "amount": receipt.amount,
            "currency": receipt.currency,
            "occurred_at": receipt.occurred_at,
            "transaction_id": receipt.transaction_id,
            "order_source": order.system if order else None,
            "order_id": order.id if order else receipt.order_ref,
            "status": status,
            "inbox_id": inbox_id,
            "recorded_at": at,
        }

        def undo() -> None:
            if before is None:
                self._pending.pop(key, None)
            else:
                self._pending[key] = before

        self.buffer.on_undo(undo)

    def find(self, gateway: str, transaction_id: str) -> StoredReceipt | None:
        for row in self._pending.values():
            if row["gateway"] == gateway and row["transaction_id"] == transaction_id:
                return _stored(row)
        found = self.conn.execute(
            select(payments).where(
                payments.c.gateway == gateway, payments.c.transaction_id == transaction_id
            )
        ).first()
        return _stored(found._mapping) if found else None

    def get(self, receipt_id: str) -> StoredReceipt | None:
        if receipt_id in self._pending:
            return _stored(self._pending[receipt_id])
        found = self.conn.execute(
            select(payments).where(payments.c.receipt_id == receipt_id)
        ).first()
        return _stored(found._mapping) if found else None

    def for_order(self, gateway: str, order_id: str, kind: PaymentKind) -> list[StoredReceipt]:
        if order_id in self._by_order:
            rows = {
                key: row
                for key, row in self._by_order[order_id].items()
                if row["gateway"] == gateway and row["kind"] == kind
            }
        else:
            rows = {
                r.receipt_id: dict(r._mapping)
                for r in self.conn.execute(
                    select(payments).where(
                        payments.c.gateway == gateway,
                        payments.c.order_id == order_id,
                        payments.c.kind == kind.value,
                    )
                )
            }
        for key, row in self._pending.items():
            if row["gateway"] == gateway and row["order_id"] == order_id and row["kind"] == kind:
                rows[key] = row
        return [_stored(row) for row in rows.values()]

    def flush(self) -> None:
        rows = list(self._pending.values())
        self._pending.clear()
        self._by_order.clear()
        if rows:
            executemany(
                self.conn, "payments.upsert", prebuilt(self.conn, "payments.upsert", _upsert), rows
            )

    def discard(self) -> None:
        self._pending.clear()
        self._by_order.clear()


def _stored(row: Any) -> StoredReceipt:
    receipt = ExpectedReceipt(
        gateway=row["gateway"],
        kind=PaymentKind(row["kind"]),
        amount=row["amount"],
        currency=row["currency"],
        occurred_at=row["occurred_at"],
        transaction_id=row["transaction_id"],
        order_ref=row["order_id"],
        receipt_id=row["receipt_id"],
    )
    order = (
        ExternalRef(row["order_source"], row["order_id"])
        if row["order_source"] and row["order_id"]
        else None
    )
    return StoredReceipt(receipt, order, row["status"])
