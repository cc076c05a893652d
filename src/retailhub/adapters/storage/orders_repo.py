"""Orders with their line counters, fulfilments, refunds and customers.

Within a batch this is an identity map: an order is read once (``prefetch`` reads all the
batch's orders in two queries), changed in memory, and written with the batch's other
effects on commit. A delivery that fails part-way restores the records it touched from the
snapshots registered in the write buffer's undo log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.buffer import WriteBuffer
from retailhub.adapters.storage.bulk import executemany, marks, raw_rows
from retailhub.adapters.storage.codec import decode_order, encode_order
from retailhub.adapters.storage.ids import IdAllocator
from retailhub.adapters.storage.tables import (
    customer_identities,
    customers,
    fulfilments,
    order_lines,
    orders,
    refund_lines,
    refunds,
)
from retailhub.domain.customers import Customer
from retailhub.domain.orders import Fulfilment, Order
from retailhub.domain.returns import Refund
from retailhub.services.ports import LineState, OrderRecord

_COUNTERS = (
    "quantity",
    "fulfilled",
    "recognised",
    "cancelled",
    "returned",
    "reversed",
    "reserved",
    "reserved_location",
)
_CHUNK = 400  # keys per IN (...) query

_insert_orders = insert(orders)
_insert_lines = insert(order_lines)
_update_order = update(orders).where(orders.c.id == bindparam("pk"))
_update_line = (
    update(order_lines)
    .where(order_lines.c.order_pk == bindparam("pk"), order_lines.c.line_id == bindparam("lid"))
    .values({c: bindparam(c) for c in _COUNTERS})
)
_insert_fulfilments = insert(fulfilments)
_insert_refunds = insert(refunds)
_insert_refund_lines = insert(refund_lines)
_insert_customers = insert(customers)
_insert_identities = insert(customer_identities)

Key = tuple[str, str]


def _header(record: OrderRecord) -> dict[str, Any]:
    order = record.order
    return {
        "channel": order.channel,
        "name": order.name,
        "currency": order.currency,
        "created_at": order.created_at,
        "source_updated_at": order.updated_at,
        "payment_status": order.payment_status.value,
        "total_price": order.total_price,
        "delivery": order.delivery.value,
        "cancelled_at": order.cancelled_at,
        "document": encode_order(order),
    }


def _state(record: OrderRecord) -> tuple[Any, ...]:
    return (record.location, record.captured, record.shipping_recognised)


def _state_row(record: OrderRecord) -> dict[str, Any]:
    return {
        "location": record.location,
        "captured": record.captured,
        "shipping_recognised": record.shipping_recognised,
    }


def _counters(s: LineState) -> tuple[Any, ...]:
    return tuple(getattr(s, c) for c in _COUNTERS)


class SqlOrderRepository:
    def __init__(self, conn: Connection, buffer: WriteBuffer, ids: IdAllocator) -> None:
        self.conn = conn
        self.buffer = buffer
        self.ids = ids
        self._records: dict[Key, OrderRecord | None] = {}
        self._new: dict[Key, tuple[OrderRecord, int | None, datetime]] = {}
        # What the database holds, to write only what a batch changed.
        self._stored_lines: dict[int, dict[str, tuple[Any, ...]]] = {}
        self._stored_state: dict[int, tuple[Any, ...]] = {}
        self._dirty: set[Key] = set()
        self._customers: dict[tuple[str, str], int] = {}
        self._checked_customers: set[tuple[str, str]] = set()

    # -- reading ---------------------------------------------------------------------------

    def prefetch(self, keys: Iterable[Key], customers_of: Iterable[Customer] = ()) -> None:
        """Load every order (and customer identity) a batch will touch, a few queries in all."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._records]
        for i in range(0, len(wanted), _CHUNK):
            self._load(wanted[i : i + _CHUNK])
        idents = [(c.identity.system, c.identity.external_id) for c in customers_of]
        missing = [k for k in dict.fromkeys(idents) if k not in self._customers]
        for i in range(0, len(missing), _CHUNK):
            chunk = missing[i : i + _CHUNK]
            systems = {system for system, _ in chunk}
            stmt = select(customer_identities).where(
                customer_identities.c.system.in_(systems),
                customer_identities.c.external_id.in_([ext for _, ext in chunk]),
            )
            for row in self.conn.execute(stmt):
                self._customers[(row.system, row.external_id)] = int(row.customer_id)
            self._checked_customers.update(chunk)  # those not found are new customers

    def _load(self, keys: list[Key]) -> None:
        for key in keys:
            self._records[key] = None
        by_source: dict[str, list[str]] = {}
        for source, order_id in keys:
            by_source.setdefault(source, []).append(order_id)
        rows: list[Any] = []
        for source, ids in by_source.items():  # one column IN (...): SQLite uses the index
            rows += raw_rows(
                self.conn,
                (
                    "SELECT id, source, order_id, document, location, captured, shipping_recognised "
                    f"FROM orders WHERE source = ? AND order_id IN ({marks(len(ids))})"
                ),
                [source, *ids],
            )
        by_pk: dict[int, OrderRecord] = {}
        for pk, source, order_id, document, location, captured, shipping in rows:
            record = OrderRecord(
                pk, decode_order(bytes(document)), location, captured, bool(shipping)
            )
            self._records[(source, order_id)] = by_pk[pk] = record
            self._stored_lines[pk] = {}
            self._stored_state[pk] = (record.order, *_state(record))
        if not by_pk:
            return
        pks = list(by_pk)
        columns = ", ".join(("order_pk", "line_id", "sku", "unit_cost", *_COUNTERS))
        for pk, line_id, sku, unit_cost, *counters in raw_rows(
            self.conn,
            f"SELECT {columns} FROM order_lines WHERE order_pk IN ({marks(len(pks))})",
            pks,
        ):
            state = LineState(line_id, sku, counters[0], unit_cost, *counters[1:])
            by_pk[pk].lines[line_id] = state
            self._stored_lines[pk][line_id] = _counters(state)
        for pk, fid in raw_rows(
            self.conn,
            "SELECT order_pk, fulfilment_id FROM fulfilments "
            f"WHERE order_pk IN ({marks(len(pks))})",
            pks,
        ):
            by_pk[pk].fulfilment_ids.add(fid)
        for pk, rid in raw_rows(
            self.conn,
            f"SELECT order_pk, refund_id FROM refunds WHERE order_pk IN ({marks(len(pks))})",
            pks,
        ):
            by_pk[pk].refund_ids.add(rid)

    def get(self, source: str, order_id: str) -> OrderRecord | None:
        key = (source, order_id)
        if key not in self._records:
            self._load([key])
        record = self._records[key]
        if record is not None:
            self._snapshot(key, record)
        return record

    def _snapshot(self, key: Key, record: OrderRecord) -> None:
        """Register how to put ``record`` back as it is now, should the delivery fail."""
        saved = (
            record.order,
            record.location,
            record.captured,
            record.shipping_recognised,
            {lid: s.copy() for lid, s in record.lines.items()},
            set(record.fulfilment_ids),
            set(record.refund_ids),
        )

        def restore() -> None:
            (
                record.order,
                record.location,
                record.captured,
                record.shipping_recognised,
                record.lines,
                record.fulfilment_ids,
                record.refund_ids,
            ) = saved

        self.buffer.on_undo(restore)
        self._dirty.add(key)

    # -- changing (in memory; written by flush) -------------------------------------------

    def add(
        self,
        order: Order,
        location: str | None,
        lines: Sequence[LineState],
        customer_id: int | None,
        at: datetime,
    ) -> OrderRecord:
        key = (order.source, order.order_id)
        record = OrderRecord(self.ids.next(orders), order, location, 0, False)
        record.lines.update({s.line_id: s for s in lines})
        self._records[key] = record
        self._new[key] = (record, customer_id, at)

        def forget() -> None:
            self._records[key] = None
            self._new.pop(key, None)

        self.buffer.on_undo(forget)
        return record

    def fulfilment_exists(self, record: OrderRecord, fulfilment_id: str) -> bool:
        return fulfilment_id in record.fulfilment_ids

    def add_fulfilment(
        self, record: OrderRecord, f: Fulfilment, kind: str, location: str | None
    ) -> None:
        record.fulfilment_ids.add(f.fulfilment_id)
        self.buffer.append(
            "fulfilments",
            {
                "source": record.order.source,
                "fulfilment_id": f.fulfilment_id,
                "order_pk": record.pk,
                "kind": kind,
                "location": location,
                "status": f.status,
                "occurred_at": f.occurred_at,
                "lines": [[fl.line_id, fl.quantity] for fl in f.lines],
            },
        )

    def refund_exists(self, record: OrderRecord, refund_id: str) -> bool:
        return refund_id in record.refund_ids

    def add_refund(
        self,
        record: OrderRecord,
        r: Refund,
        location: str | None,
        skus: Mapping[str, str | None],
        locations: Sequence[str | None],
    ) -> None:
        record.refund_ids.add(r.refund_id)
        pk = self.ids.next(refunds)
        self.buffer.append(
            "refunds",
            {
                "id": pk,
                "source": record.order.source,
                "refund_id": r.refund_id,
                "order_pk": record.pk,
                "occurred_at": r.occurred_at,
                "amount": r.refunded_to_customer,
                "location": location,
                "return_id": r.return_id,
                "note": r.note,
            },
        )
        for i, rl in enumerate(r.lines):
            self.buffer.append(
                "refund_lines",
                {
                    "refund_pk": pk,
                    "seq": i,
                    "line_id": rl.line_id,
                    "sku": skus.get(rl.line_id),
                    "quantity": rl.quantity,
                    "disposition": rl.disposition.value,
                    "location": locations[i],
                    "reason": rl.reason,
                },
            )

    def upsert_customer(self, customer: Customer) -> int:
        key = (customer.identity.system, customer.identity.external_id)
        if key not in self._customers and key not in self._checked_customers:
            stmt = select(customer_identities.c.customer_id).where(
                customer_identities.c.system == key[0], customer_identities.c.external_id == key[1]
            )
            found = self.conn.execute(stmt).scalar()
            if found is not None:
                self._customers[key] = int(found)
        if key in self._customers:
            return self._customers[key]
        customer_id = self.ids.next(customers)
        self._customers[key] = customer_id

        def forget() -> None:
            self._customers.pop(key, None)

        self.buffer.on_undo(forget)
        self.buffer.append(
            "customers", {"id": customer_id, "email": customer.email, "name": customer.name}
        )
        self.buffer.append(
            "customer_identities",
            {"system": key[0], "external_id": key[1], "customer_id": customer_id},
        )
        return customer_id

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write new and changed orders, their lines and the facts recorded against them."""
        for table, stmt in (
            ("customers", _insert_customers),
            ("customer_identities", _insert_identities),
        ):
            executemany(self.conn, table, stmt, self.buffer.take(table))
        new_orders, new_lines, changed_lines = [], [], []
        for key, (record, customer_id, at) in self._new.items():
            new_orders.append(
                {
                    "id": record.pk,
                    "source": key[0],
                    "order_id": key[1],
                    "customer_id": customer_id,
                    "first_seen_at": at,
                    **_header(record),
                    **_state_row(record),
                }
            )
            new_lines += [self._line_row(record.pk, s) for s in record.lines.values()]
            self._stored_lines[record.pk] = {s.line_id: _counters(s) for s in record.lines.values()}
            self._stored_state[record.pk] = (record.order, *_state(record))
        changed_docs, changed_state = [], []
        for key in self._dirty - self._new.keys():
            dirty = self._records.get(key)
            if dirty is None:
                continue
            # Write only what changed: the document is rewritten for a newer snapshot alone.
            was = self._stored_state.get(dirty.pk)
            if was is None or was[0] is not dirty.order:
                changed_docs.append({"pk": dirty.pk, **_header(dirty), **_state_row(dirty)})
            elif was[1:] != _state(dirty):
                changed_state.append({"pk": dirty.pk, **_state_row(dirty)})
            self._stored_state[dirty.pk] = (dirty.order, *_state(dirty))
            stored = self._stored_lines.setdefault(dirty.pk, {})
            for s in dirty.lines.values():
                now = _counters(s)
                if s.line_id not in stored:
                    new_lines.append(self._line_row(dirty.pk, s))
                elif stored[s.line_id] != now:
                    changed_lines.append(
                        {"pk": dirty.pk, "lid": s.line_id, **dict(zip(_COUNTERS, now, strict=True))}
                    )
                stored[s.line_id] = now
        executemany(self.conn, "orders.insert", _insert_orders, new_orders)
        executemany(self.conn, "orders.update", _update_order, changed_docs)
        executemany(self.conn, "orders.update_state", _update_order, changed_state)
        executemany(self.conn, "order_lines.insert", _insert_lines, new_lines)
        executemany(self.conn, "order_lines.update", _update_line, changed_lines)
        for table, stmt in (
            ("fulfilments", _insert_fulfilments),
            ("refunds", _insert_refunds),
            ("refund_lines", _insert_refund_lines),
        ):
            executemany(self.conn, table, stmt, self.buffer.take(table))
        self._new.clear()
        self._dirty.clear()

    @staticmethod
    def _line_row(pk: int, s: LineState) -> dict[str, Any]:
        return {
            "order_pk": pk,
            "line_id": s.line_id,
            "sku": s.sku,
            "unit_cost": s.unit_cost,
            **{c: getattr(s, c) for c in _COUNTERS},
        }

    def discard(self) -> None:
        self._records.clear()
        self._new.clear()
        self._dirty.clear()
        self._stored_lines.clear()
        self._stored_state.clear()
        self._customers.clear()
        self._checked_customers.clear()
