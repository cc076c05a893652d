"""Read side: the questions the CLI, API and demo ask, answered straight from the tables."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import (
    channel_stock_reports,
    exception_audit,
    exceptions,
    fulfilments,
    inbox,
    inventory_movements,
    inventory_positions,
    items,
    journal_lines,
    orders,
    refund_lines,
    refunds,
)
from retailhub.domain import availability
from retailhub.domain.availability import AtpRule, SafetyStock
from retailhub.domain.catalog import channel_eligibility
from retailhub.domain.inventory import Position
from retailhub.services.drift import ChannelLevel


def positions(conn: Connection, sku: str) -> list[Position]:
    return [
        Position(
            r.sku, r.location, r.on_hand, r.reserved, r.in_transit, r.quarantined, r.safety_stock
        )
        for r in conn.execute(
            select(inventory_positions)
            .where(inventory_positions.c.sku == sku)
            .order_by(inventory_positions.c.location)
        )
    ]


def atp(
    conn: Connection,
    sku: str,
    rules: Mapping[str, AtpRule],
    safety: SafetyStock | None = None,
    sales_window_days: int = 28,
    now: datetime | None = None,
    locations: Collection[str] = (),
) -> dict[str, int]:
    """ATP per channel; days-of-cover safety stock reads the SKU's trailing daily sales.

    ``locations`` limits it to those locations' stock (a store-scoped API caller); empty: all.
    """
    held = [p for p in positions(conn, sku) if not locations or p.location in locations]
    sold_on = item_channels(conn, sku)
    if safety is not None and safety.uses_days_of_cover:
        since = (now or datetime.now(UTC)) - timedelta(days=sales_window_days)
        safety = replace(safety, daily_sales=daily_sales(conn, sku, since, sales_window_days))
    return {
        name: availability.atp(held, rule, safety) if sold_on(name) else 0
        for name, rule in rules.items()
    }


def item_channels(conn: Connection, sku: str) -> Callable[[str], bool]:
    """Whether the item may be sold on a channel (its ``channels`` eligibility)."""
    text = conn.execute(select(items.c.channels).where(items.c.sku == sku)).scalar()
    only, excluded = channel_eligibility(text)
    return lambda channel: (not only or channel in only) and channel not in excluded


def daily_sales(
    conn: Connection, sku: str, since: datetime, window_days: int
) -> dict[tuple[str, str], Fraction]:
    """Average units sold a day per location over the window (sales are negative on hand)."""
    rows = conn.execute(
        select(inventory_movements.c.location, func.sum(inventory_movements.c.on_hand))
        .where(
            inventory_movements.c.sku == sku,
            inventory_movements.c.kind == "sale",
            inventory_movements.c.occurred_at >= since,
        )
        .group_by(inventory_movements.c.location)
    )
    return {
        (sku, loc): availability.daily_rate(-int(total or 0), window_days) for loc, total in rows
    }


def trial_balance(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            journal_lines.c.account,
            journal_lines.c.currency,
            func.sum(case((journal_lines.c.amount > 0, journal_lines.c.amount), else_=0)),
            func.sum(case((journal_lines.c.amount < 0, -journal_lines.c.amount), else_=0)),
        )
        .group_by(journal_lines.c.account, journal_lines.c.currency)
        .order_by(journal_lines.c.account)
    )
    out = []
    for account, currency, debits, credits in rows:
        debits, credits = int(debits or 0), int(credits or 0)
        out.append(
            {
                "account": account,
                "currency": currency,
                "debits": debits,
                "credits": credits,
                "balance": debits - credits,
            }
        )
    return out


def inbox_counts(conn: Connection) -> dict[str, int]:
    counts = {
        status: int(n)
        for status, n in conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status))
    }
    counts["received"] = sum(counts.values())
    counts["duplicates"] = int(
        conn.execute(select(func.coalesce(func.sum(inbox.c.duplicates), 0))).scalar_one()
    )
    return counts


def open_exceptions_by_type(conn: Connection) -> dict[str, int]:
    return {
        t: int(n)
        for t, n in conn.execute(
            select(exceptions.c.type, func.count())
            .where(exceptions.c.status == "open")
            .group_by(exceptions.c.type)
            .order_by(exceptions.c.type)
        )
    }


def list_exceptions(
    conn: Connection,
    status: str | None = "open",
    limit: int = 200,
    type_: str | None = None,
    owner: str | None = None,
    *,
    assignee: str | None = None,
    stores: Collection[str] = (),
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The queue, most urgent first (the CLI's, the API's and the dashboard's).

    ``stores`` keeps a store-scoped caller to its stores' exceptions (empty: every store).
    """
    stmt = select(*(exceptions.c[name] for name in _QUEUE_COLUMNS))
    if stores:
        stmt = stmt.where(exceptions.c.store.in_(list(stores)))
    for column, wanted in (
        ("status", status),
        ("type", type_),
        ("owner", owner),
        ("assignee", assignee),
    ):
        if wanted:
            stmt = stmt.where(exceptions.c[column] == wanted)
    stmt = stmt.order_by(exceptions.c.priority, exceptions.c.id).limit(limit).offset(offset)
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in r._mapping.items()}
        for r in conn.execute(stmt)
    ]


_QUEUE_COLUMNS = (
    "id",
    "type",
    "status",
    "owner",
    "priority",
    "blocking",
    "reason",
    "subject",
    "amount",
    "source",
    "inbox_id",
    "attempts",
    "assignee",
    "store",
    "sla_due_at",
    "next_retry_at",
    "created_at",
    "updated_at",
)


def document_counts(conn: Connection) -> dict[str, int]:
    return {
        "orders": int(conn.execute(select(func.count()).select_from(orders)).scalar_one()),
        "cancelled_orders": int(
            conn.execute(
                select(func.count()).select_from(orders).where(orders.c.cancelled_at.is_not(None))
            ).scalar_one()
        ),
        "refunds": int(conn.execute(select(func.count()).select_from(refunds)).scalar_one()),
        # A return is a refund that brought goods back, whatever became of them.
        "returns": int(
            conn.execute(
                select(func.count(func.distinct(refund_lines.c.refund_pk))).where(
                    refund_lines.c.disposition.in_(("restock", "damaged", "quarantine"))
                )
            ).scalar_one()
        ),
    }


def order_story(conn: Connection, name: str) -> dict[str, Any] | None:
    """One order's journey: where it was fulfilled, what came back where, what was refunded."""
    order = conn.execute(
        select(
            orders.c.id,
            orders.c.name,
            orders.c.channel,
            orders.c.delivery,
            orders.c.total_price,
            orders.c.currency,
        ).where(orders.c.name == name)
    ).first()
    if order is None:
        return None
    fulfilled = [
        {"kind": r.kind, "location": r.location, "lines": r.lines}
        for r in conn.execute(
            select(fulfilments)
            .where(fulfilments.c.order_pk == order.id)
            .order_by(fulfilments.c.occurred_at)
        )
    ]
    returned = [
        {
            "sku": r.sku,
            "quantity": r.quantity,
            "disposition": r.disposition,
            "location": r.location,
            "refund": r.amount,
        }
        for r in conn.execute(
            select(
                refund_lines.c.sku,
                refund_lines.c.quantity,
                refund_lines.c.disposition,
                refund_lines.c.location,
                refunds.c.amount,
            )
            .join(refunds, refunds.c.id == refund_lines.c.refund_pk)
            .where(refunds.c.order_pk == order.id)
        )
    ]
    return {
        "order": order.name,
        "channel": order.channel,
        "delivery": order.delivery,
        "total": order.total_price,
        "currency": order.currency,
        "fulfilments": fulfilled,
        "returns": returned,
    }


def exception_detail(conn: Connection, exception_id: int) -> dict[str, Any] | None:
    """One exception with its audit trail and the delivery behind it."""
    row = conn.execute(select(exceptions).where(exceptions.c.id == exception_id)).first()
    if row is None:
        return None
    detail = {k: v for k, v in row._mapping.items() if k not in ("payload", "headers")}
    for key in ("created_at", "updated_at", "resolved_at", "sla_due_at", "next_retry_at"):
        detail[key] = detail[key].isoformat() if detail[key] else None
    detail["audit"] = [
        {"at": a.at.isoformat(), "actor": a.actor, "action": a.action, "result": a.result}
        for a in conn.execute(
            select(exception_audit)
            .where(exception_audit.c.exception_id == exception_id)
            .order_by(exception_audit.c.id)
        )
    ]
    if row.inbox_id is not None:
        delivery = conn.execute(
            select(
                inbox.c.source, inbox.c.event_id, inbox.c.topic, inbox.c.status, inbox.c.attempts
            ).where(inbox.c.id == row.inbox_id)
        ).first()
        detail["delivery"] = dict(delivery._mapping) if delivery else None
    return detail


@dataclass
class SqlLevels:
    """Channels' reported levels and our positions, for the drift check."""

    conn: Connection

    def reported_levels(self, system: str | None) -> list[ChannelLevel]:
        q = select(channel_stock_reports).where(
            channel_stock_reports.c.sku.is_not(None), channel_stock_reports.c.location.is_not(None)
        )
        if system:
            q = q.where(channel_stock_reports.c.system == system)
        return [
            ChannelLevel(
                r.system,
                r.item_external_id,
                r.location_external_id,
                r.sku,
                r.location,
                r.available,
                r.reported_at,
            )
            for r in self.conn.execute(q)
        ]

    def positions(self, sku: str) -> list[Position]:
        return positions(self.conn, sku)


def stocked_skus(conn: Connection) -> list[str]:
    """Every SKU with a position somewhere."""
    return list(
        conn.execute(
            select(inventory_positions.c.sku).distinct().order_by(inventory_positions.c.sku)
        ).scalars()
    )
