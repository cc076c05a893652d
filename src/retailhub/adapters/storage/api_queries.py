"""Read side for the HTTP API: the questions ``queries.py`` does not answer, store-scoped.

Every query that returns store-bound objects takes ``stores``: ``()`` means the caller may see
every store (an unscoped token); otherwise only rows of those stores are returned, and rows that
belong to no store at all are hidden (a scoped token sees nothing unowned). Lookups of one
object answer ``None`` both for "does not exist" and "another store's", so the API can reply 404
without telling a guesser which ids exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from retailhub.adapters.storage import queries
from retailhub.adapters.storage.tables import (
    exceptions,
    fulfilments,
    inventory_positions,
    item_identities,
    items,
    journal_entries,
    journal_lines,
    orders,
    reconciliation_items,
    reconciliation_runs,
    refund_lines,
    refunds,
    settlement_lines,
    settlements,
)
from retailhub.domain.availability import AtpRule, SafetyStock
from retailhub.domain.inventory import Position

Stores = tuple[str, ...]
MAX_LIMIT = 500
# Beyond any real table, and inside every database's 64-bit integers (a huge offset from a
# client is a bad request, not a server error).
MAX_OFFSET = 2**31 - 1


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _row(mapping: Mapping[Any, Any], drop: Sequence[str] = ()) -> dict[str, Any]:
    return {k: _iso(v) for k, v in mapping.items() if k not in drop}


def _in_stores(column: Any, stores: Stores) -> ColumnElement[bool] | None:
    """The scope filter: None when unscoped, else the column must be one of the stores."""
    return column.in_(stores) if stores else None


def _scoped(stmt: Any, column: Any, stores: Stores) -> Any:
    where = _in_stores(column, stores)
    return stmt if where is None else stmt.where(where)


# -- items ----------------------------------------------------------------------------------


def list_items(
    conn: Connection, search: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Items, optionally those whose SKU, title or barcode contains ``search`` (any case)."""
    stmt: Any = select(
        items.c.sku,
        items.c.title,
        items.c.barcode,
        items.c.style,
        items.c.uom,
        items.c.tax_class,
        items.c.unit_cost,
        items.c.currency,
        items.c.channels,
    )
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(items.c.sku).like(like),
                func.lower(items.c.title).like(like),
                func.lower(func.coalesce(items.c.barcode, "")).like(like),
            )
        )
    stmt = stmt.order_by(items.c.sku).limit(min(limit, MAX_LIMIT)).offset(offset)
    return [_row(r._mapping) for r in conn.execute(stmt)]


def item_detail(conn: Connection, sku: str) -> dict[str, Any] | None:
    """One item with its identities in every connected system."""
    row = conn.execute(select(items).where(items.c.sku == sku)).first()
    if row is None:
        return None
    detail = _row(row._mapping)
    detail["identities"] = [
        {"system": r.system, "kind": r.kind, "external_id": r.external_id}
        for r in conn.execute(
            select(item_identities)
            .where(item_identities.c.sku == sku)
            .order_by(item_identities.c.system, item_identities.c.kind)
        )
    ]
    return detail


# -- inventory ------------------------------------------------------------------------------


def positions(conn: Connection, sku: str, stores: Stores = ()) -> list[Position]:
    """The SKU's positions at the locations the caller may see."""
    return [p for p in queries.positions(conn, sku) if not stores or p.location in stores]


def position_rows(held: Sequence[Position]) -> list[dict[str, Any]]:
    return [
        {
            "location": p.location,
            "on_hand": p.on_hand,
            "reserved": p.reserved,
            "in_transit": p.in_transit,
            "quarantined": p.quarantined,
            "safety_stock": p.safety_stock,
        }
        for p in held
    ]


def atp(
    conn: Connection,
    sku: str,
    rules: Mapping[str, AtpRule],
    safety: SafetyStock | None,
    sales_window_days: int,
    now: datetime,
    stores: Stores = (),
) -> dict[str, int]:
    """ATP per channel as ``queries.atp`` computes it, over the caller's locations only."""
    return queries.atp(conn, sku, rules, safety, sales_window_days, now, stores)


def stocked_at(conn: Connection, sku: str) -> bool:
    return (
        conn.execute(
            select(func.count())
            .select_from(inventory_positions)
            .where(inventory_positions.c.sku == sku)
        ).scalar_one()
        > 0
    )


# -- orders ---------------------------------------------------------------------------------

_ORDER_COLUMNS = (
    orders.c.id,
    orders.c.source,
    orders.c.order_id,
    orders.c.name,
    orders.c.channel,
    orders.c.location,
    orders.c.currency,
    orders.c.total_price,
    orders.c.captured,
    orders.c.payment_status,
    orders.c.delivery,
    orders.c.created_at,
    orders.c.cancelled_at,
)


def list_orders(
    conn: Connection,
    stores: Stores = (),
    channel: str | None = None,
    location: str | None = None,
    payment_status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    cancelled: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Orders, newest first; an order's store is the location it sells from."""
    stmt: Any = _scoped(select(*_ORDER_COLUMNS), orders.c.location, stores)
    if channel:
        stmt = stmt.where(orders.c.channel == channel)
    if location:
        stmt = stmt.where(orders.c.location == location)
    if payment_status:
        stmt = stmt.where(orders.c.payment_status == payment_status)
    if created_from:
        stmt = stmt.where(orders.c.created_at >= created_from)
    if created_to:
        stmt = stmt.where(orders.c.created_at < created_to)
    if cancelled is not None:
        stmt = stmt.where(
            orders.c.cancelled_at.is_not(None) if cancelled else orders.c.cancelled_at.is_(None)
        )
    stmt = stmt.order_by(orders.c.created_at.desc(), orders.c.id.desc())
    stmt = stmt.limit(min(limit, MAX_LIMIT)).offset(offset)
    return [_row(r._mapping) for r in conn.execute(stmt)]


def order_detail(conn: Connection, order_pk: int, stores: Stores = ()) -> dict[str, Any] | None:
    """One order with its fulfilments, refunds (and their lines) and journal entries."""
    stmt = _scoped(
        select(*_ORDER_COLUMNS).where(orders.c.id == order_pk), orders.c.location, stores
    )
    order = conn.execute(stmt).first()
    if order is None:
        return None
    detail = _row(order._mapping)
    detail["fulfilments"] = [
        _row(r._mapping, drop=("order_pk",))
        for r in conn.execute(
            select(fulfilments)
            .where(fulfilments.c.order_pk == order_pk)
            .order_by(fulfilments.c.occurred_at, fulfilments.c.id)
        )
    ]
    refund_rows = list(
        conn.execute(
            select(refunds).where(refunds.c.order_pk == order_pk).order_by(refunds.c.occurred_at)
        )
    )
    lines_by_refund: dict[int, list[dict[str, Any]]] = {}
    if refund_rows:
        for line in conn.execute(
            select(refund_lines)
            .where(refund_lines.c.refund_pk.in_([r.id for r in refund_rows]))
            .order_by(refund_lines.c.refund_pk, refund_lines.c.seq)
        ):
            lines_by_refund.setdefault(int(line.refund_pk), []).append(
                _row(line._mapping, drop=("refund_pk",))
            )
    detail["refunds"] = [
        _row(r._mapping, drop=("order_pk",)) | {"lines": lines_by_refund.get(int(r.id), [])}
        for r in refund_rows
    ]
    # Entries are linked to their source document (services/handlers: ctx.source(kind, id)):
    # the order itself, each of its fulfilments, each of its refunds.
    documents = [
        and_(
            journal_entries.c.source_kind == "order",
            journal_entries.c.document_id == order.order_id,
        )
    ]
    fulfilment_ids = [f["fulfilment_id"] for f in detail["fulfilments"]]
    if fulfilment_ids:
        documents.append(
            and_(
                journal_entries.c.source_kind == "fulfilment",
                journal_entries.c.document_id.in_(fulfilment_ids),
            )
        )
    refund_ids = [r.refund_id for r in refund_rows]
    if refund_ids:
        documents.append(
            and_(
                journal_entries.c.source_kind == "refund",
                journal_entries.c.document_id.in_(refund_ids),
            )
        )
    detail["journal_entries"] = _entries(conn, or_(*documents))
    return detail


# -- journals and trial balance -------------------------------------------------------------


def _entries(
    conn: Connection, where: ColumnElement[bool], limit: int = MAX_LIMIT, offset: int = 0
) -> list[dict[str, Any]]:
    heads = list(
        conn.execute(
            select(journal_entries)
            .where(where)
            .order_by(journal_entries.c.entry_date, journal_entries.c.id)
            .limit(limit)
            .offset(offset)
        )
    )
    lines: dict[int, list[dict[str, Any]]] = {}
    if heads:
        for line in conn.execute(
            select(journal_lines)
            .where(journal_lines.c.entry_id.in_([h.id for h in heads]))
            .order_by(journal_lines.c.entry_id, journal_lines.c.id)
        ):
            lines.setdefault(int(line.entry_id), []).append(
                _row(line._mapping, drop=("entry_id", "id"))
            )
    return [_row(h._mapping) | {"lines": lines.get(int(h.id), [])} for h in heads]


def list_journals(
    conn: Connection,
    stores: Stores = (),
    date_from: date | None = None,
    date_to: date | None = None,
    source_kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Journal entries dated in [date_from, date_to] (both inclusive), with their lines.

    A scoped caller sees the entries with at least one line at one of its stores.
    """
    conditions: list[ColumnElement[bool]] = []
    if date_from:
        conditions.append(journal_entries.c.entry_date >= date_from)
    if date_to:
        conditions.append(journal_entries.c.entry_date <= date_to)
    if source_kind:
        conditions.append(journal_entries.c.source_kind == source_kind)
    if stores:
        conditions.append(
            journal_entries.c.id.in_(
                select(journal_lines.c.entry_id).where(journal_lines.c.location.in_(stores))
            )
        )
    where = and_(*conditions) if conditions else journal_entries.c.id.is_not(None)
    return _entries(conn, where, min(limit, MAX_LIMIT), offset)


def trial_balance(
    conn: Connection, stores: Stores = (), as_of: date | None = None
) -> list[dict[str, Any]]:
    """Debits, credits and balance per account and currency (a scoped caller: its stores')."""
    debit = case((journal_lines.c.amount > 0, journal_lines.c.amount), else_=0)
    credit = case((journal_lines.c.amount < 0, -journal_lines.c.amount), else_=0)
    stmt: Any = select(
        journal_lines.c.account,
        journal_lines.c.currency,
        func.sum(debit),
        func.sum(credit),
    ).join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)
    stmt = _scoped(stmt, journal_lines.c.location, stores)
    if as_of:
        stmt = stmt.where(journal_entries.c.entry_date <= as_of)
    stmt = stmt.group_by(journal_lines.c.account, journal_lines.c.currency).order_by(
        journal_lines.c.account, journal_lines.c.currency
    )
    out = []
    for account, currency, debits, credits in conn.execute(stmt):
        d, c = int(debits or 0), int(credits or 0)
        out.append(
            {"account": account, "currency": currency, "debits": d, "credits": c, "balance": d - c}
        )
    return out


# -- settlements and reconciliation ---------------------------------------------------------


def list_settlements(
    conn: Connection, gateway: str | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    stmt: Any = select(settlements)
    if gateway:
        stmt = stmt.where(settlements.c.gateway == gateway)
    stmt = stmt.order_by(settlements.c.imported_at.desc(), settlements.c.id.desc())
    stmt = stmt.limit(min(limit, MAX_LIMIT)).offset(offset)
    return [_row(r._mapping) for r in conn.execute(stmt)]


def settlement_detail(conn: Connection, settlement_pk: int) -> dict[str, Any] | None:
    row = conn.execute(select(settlements).where(settlements.c.id == settlement_pk)).first()
    if row is None:
        return None
    detail = _row(row._mapping)
    detail["lines"] = [
        _row(r._mapping, drop=("settlement_pk", "gateway", "settlement_id"))
        for r in conn.execute(
            select(settlement_lines)
            .where(settlement_lines.c.settlement_pk == settlement_pk)
            .order_by(settlement_lines.c.line_no)
        )
    ]
    return detail


def reconciliation_run(
    conn: Connection, run_id: int | None = None, outcome: str | None = None
) -> dict[str, Any] | None:
    """A reconciliation run (the latest when ``run_id`` is None) with its items."""
    stmt: Any = select(reconciliation_runs)
    stmt = (
        stmt.where(reconciliation_runs.c.id == run_id)
        if run_id is not None
        else stmt.order_by(reconciliation_runs.c.run_at.desc(), reconciliation_runs.c.id.desc())
    )
    run = conn.execute(stmt.limit(1)).first()
    if run is None:
        return None
    detail = _row(run._mapping)
    detail["match_rate"] = round(run.matched / run.matchable, 4) if run.matchable else None
    items_stmt: Any = select(reconciliation_items).where(reconciliation_items.c.run_id == run.id)
    if outcome:
        items_stmt = items_stmt.where(reconciliation_items.c.outcome == outcome)
    detail["items"] = [
        _row(r._mapping, drop=("run_id",))
        for r in conn.execute(items_stmt.order_by(reconciliation_items.c.id))
    ]
    return detail


def list_reconciliation_runs(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    return [
        _row(r._mapping)
        for r in conn.execute(
            select(reconciliation_runs)
            .order_by(reconciliation_runs.c.run_at.desc(), reconciliation_runs.c.id.desc())
            .limit(min(limit, MAX_LIMIT))
        )
    ]


# -- exceptions -----------------------------------------------------------------------------


def list_exceptions(
    conn: Connection,
    stores: Stores = (),
    status: str | None = "open",
    type_: str | None = None,
    owner: str | None = None,
    assignee: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The queue, most urgent first, within the caller's stores (``queries.list_exceptions``)."""
    return queries.list_exceptions(
        conn,
        status,
        min(limit, MAX_LIMIT),
        type_,
        owner,
        assignee=assignee,
        stores=stores,
        offset=offset,
    )


def exception_visible(conn: Connection, exception_id: int, stores: Stores = ()) -> bool:
    """Whether the exception exists and lies in the caller's stores."""
    stmt: Any = _scoped(
        select(exceptions.c.id).where(exceptions.c.id == exception_id), exceptions.c.store, stores
    )
    return conn.execute(stmt).first() is not None


def exception_detail(
    conn: Connection, exception_id: int, stores: Stores = ()
) -> dict[str, Any] | None:
    if not exception_visible(conn, exception_id, stores):
        return None
    detail = queries.exception_detail(conn, exception_id)
    if detail is None:
        return None
    return {k: _iso(v) for k, v in detail.items()}
