"""Orders with their line counters, fulfilments, refunds and customers.

Every statement is built once at import (see ``dialect``): these run for every delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.codec import decode_order, encode_order
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

_get_order = select(
    orders.c.id,
    orders.c.document,
    orders.c.location,
    orders.c.captured,
    orders.c.shipping_recognised,
).where(orders.c.source == bindparam("source"), orders.c.order_id == bindparam("order_id"))
_get_lines = select(order_lines).where(order_lines.c.order_pk == bindparam("pk"))
_insert_order = insert(orders).returning(orders.c.id)
_insert_lines = insert(order_lines)
_update_header = update(orders).where(orders.c.id == bindparam("pk"))
_save_order = (
    update(orders)
    .where(orders.c.id == bindparam("pk"))
    .values(captured=bindparam("captured"), shipping_recognised=bindparam("shipping_recognised"))
)
_save_line = (
    update(order_lines)
    .where(order_lines.c.order_pk == bindparam("pk"), order_lines.c.line_id == bindparam("lid"))
    .values({c: bindparam(c) for c in _COUNTERS})
)
_fulfilment_exists = select(fulfilments.c.id).where(
    fulfilments.c.source == bindparam("source"), fulfilments.c.fulfilment_id == bindparam("id")
)
_insert_fulfilment = insert(fulfilments)
_refund_exists = select(refunds.c.id).where(
    refunds.c.source == bindparam("source"), refunds.c.refund_id == bindparam("id")
)
_insert_refund = insert(refunds).returning(refunds.c.id)
_insert_refund_lines = insert(refund_lines)
_customer_by_identity = select(customer_identities.c.customer_id).where(
    customer_identities.c.system == bindparam("system"),
    customer_identities.c.external_id == bindparam("external_id"),
)
_insert_customer = insert(customers).returning(customers.c.id)
_insert_identity = insert(customer_identities)


def _header(order: Order) -> dict[str, Any]:
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


def _line_params(pk: int, s: LineState) -> dict[str, Any]:
    return {"pk": pk, "lid": s.line_id, **{c: getattr(s, c) for c in _COUNTERS}}


class SqlOrderRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, source: str, order_id: str) -> OrderRecord | None:
        row = self.conn.execute(_get_order, {"source": source, "order_id": order_id}).first()
        if row is None:
            return None
        record = OrderRecord(
            row.id, decode_order(row.document), row.location, row.captured, row.shipping_recognised
        )
        for line in self.conn.execute(_get_lines, {"pk": row.id}):
            record.lines[line.line_id] = LineState(
                line.line_id,
                line.sku,
                line.quantity,
                line.unit_cost,
                line.fulfilled,
                line.recognised,
                line.cancelled,
                line.returned,
                line.reversed,
                line.reserved,
                line.reserved_location,
            )
        return record

    def add(
        self,
        order: Order,
        location: str | None,
        lines: Sequence[LineState],
        customer_id: int | None,
        at: datetime,
    ) -> OrderRecord:
        pk = self.conn.execute(
            _insert_order,
            {
                "source": order.source,
                "order_id": order.order_id,
                "location": location,
                "captured": 0,
                "shipping_recognised": False,
                "customer_id": customer_id,
                "first_seen_at": at,
                **_header(order),
            },
        ).scalar_one()
        record = OrderRecord(pk, order, location, 0, False)
        self.add_lines(record, lines)
        record.lines.update({s.line_id: s for s in lines})
        return record

    def add_lines(self, record: OrderRecord, lines: Sequence[LineState]) -> None:
        if lines:
            self.conn.execute(
                _insert_lines,
                [
                    {
                        "order_pk": record.pk,
                        "line_id": s.line_id,
                        "sku": s.sku,
                        "unit_cost": s.unit_cost,
                        **{c: getattr(s, c) for c in _COUNTERS},
                    }
                    for s in lines
                ],
            )

    def update_snapshot(self, record: OrderRecord) -> None:
        self.conn.execute(_update_header, {"pk": record.pk, **_header(record.order)})

    def save_state(self, record: OrderRecord) -> None:
        self.conn.execute(
            _save_order,
            {
                "pk": record.pk,
                "captured": record.captured,
                "shipping_recognised": record.shipping_recognised,
            },
        )
        self.conn.execute(_save_line, [_line_params(record.pk, s) for s in record.lines.values()])

    def fulfilment_exists(self, source: str, fulfilment_id: str) -> bool:
        found = self.conn.execute(_fulfilment_exists, {"source": source, "id": fulfilment_id})
        return found.first() is not None

    def add_fulfilment(
        self, record: OrderRecord, f: Fulfilment, kind: str, location: str | None
    ) -> None:
        self.conn.execute(
            _insert_fulfilment,
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

    def refund_exists(self, source: str, refund_id: str) -> bool:
        found = self.conn.execute(_refund_exists, {"source": source, "id": refund_id})
        return found.first() is not None

    def add_refund(
        self,
        record: OrderRecord,
        r: Refund,
        location: str | None,
        skus: Mapping[str, str | None],
        locations: Sequence[str | None],
    ) -> None:
        pk = self.conn.execute(
            _insert_refund,
            {
                "source": record.order.source,
                "refund_id": r.refund_id,
                "order_pk": record.pk,
                "occurred_at": r.occurred_at,
                "amount": r.refunded_to_customer,
                "location": location,
                "return_id": r.return_id,
                "note": r.note,
            },
        ).scalar_one()
        if r.lines:
            self.conn.execute(
                _insert_refund_lines,
                [
                    {
                        "refund_pk": pk,
                        "seq": i,
                        "line_id": rl.line_id,
                        "sku": skus.get(rl.line_id),
                        "quantity": rl.quantity,
                        "disposition": rl.disposition.value,
                        "location": locations[i],
                        "reason": rl.reason,
                    }
                    for i, rl in enumerate(r.lines)
                ],
            )

    def upsert_customer(self, customer: Customer) -> int:
        ident = customer.identity
        key = {"system": ident.system, "external_id": ident.external_id}
        existing = self.conn.execute(_customer_by_identity, key).scalar()
        if existing is not None:
            return int(existing)
        customer_id = self.conn.execute(
            _insert_customer, {"email": customer.email, "name": customer.name}
        ).scalar_one()
        self.conn.execute(_insert_identity, {**key, "customer_id": customer_id})
        return int(customer_id)
