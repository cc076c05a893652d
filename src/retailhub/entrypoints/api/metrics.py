"""``GET /metrics``: Prometheus text exposition, read from the database at scrape time.

Why from the database: the API and the worker may be many processes on many machines (NATS
scale-out), so in-process counters would each see a slice. The tables already hold every fact
(inbox rows are never deleted, nor exceptions, nor push records), so a custom collector turns
them into series on each scrape; every process answers the same figures. Counters are counts of
rows that only ever grow (deliveries received, duplicates, exceptions raised, pushes); gauges
are current states (deliveries by status, open exceptions, lag, SLA breaches). Series names and
their meaning are listed in docs/monitoring.md.

Like Prometheus' own exporters, the endpoint takes no token: it exposes counts only (no ids,
names or amounts); keep it on the internal network or behind the proxy (docs/monitoring.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.engine import Connection, Engine

from retailhub.adapters.storage.tables import exceptions, inbox, reconciliation_runs, stock_pushes
from retailhub.domain.problems import ProblemType

if TYPE_CHECKING:
    from retailhub.bootstrap import Hub

UNRESOLVED = ("open", "retrying")


class HubCollector(Collector):
    """Reads the hub's tables on each ``collect()`` (one short read-only connection)."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[Metric]:
        return []  # registering must not query the database; series are known at scrape time

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        with self.engine.connect() as conn:
            yield from _deliveries(conn, now)
            yield from _exceptions(conn, now)
            yield from _pushes(conn)
            yield from _reconciliation(conn)


def _deliveries(conn: Connection, now: datetime) -> Iterator[Metric]:
    received = CounterMetricFamily(
        "retailhub_deliveries_received",
        "Deliveries admitted to the inbox, by source (duplicates not included).",
        labels=["source"],
    )
    duplicates = CounterMetricFamily(
        "retailhub_deliveries_duplicate",
        "Repeated deliveries of an event already in the inbox, by source.",
        labels=["source"],
    )
    by_status = GaugeMetricFamily(
        "retailhub_deliveries",
        "Inbox deliveries by source and current status (pending, waiting, applied, failed).",
        labels=["source", "status"],
    )
    totals: dict[str, int] = {}
    for source, status, n in conn.execute(
        select(inbox.c.source, inbox.c.status, func.count()).group_by(
            inbox.c.source, inbox.c.status
        )
    ):
        by_status.add_metric([source, status], int(n))
        totals[source] = totals.get(source, 0) + int(n)
    for source, dup in conn.execute(
        select(inbox.c.source, func.coalesce(func.sum(inbox.c.duplicates), 0)).group_by(
            inbox.c.source
        )
    ):
        duplicates.add_metric([source], int(dup))
    for source, n in sorted(totals.items()):
        received.add_metric([source], n)
    yield received
    yield duplicates
    yield by_status

    oldest = conn.execute(select(func.min(inbox.c.received_at)).where(inbox.c.status == "pending"))
    first = oldest.scalar()
    lag = GaugeMetricFamily(
        "retailhub_processing_lag_seconds",
        "Age of the oldest delivery still pending processing (0 when none is pending).",
    )
    lag.add_metric([], max(0.0, (now - first).total_seconds()) if first is not None else 0.0)
    yield lag


def _exceptions(conn: Connection, now: datetime) -> Iterator[Metric]:
    raised = CounterMetricFamily(
        "retailhub_exceptions_raised",
        "Exceptions ever raised, by type (whatever their status now).",
        labels=["type"],
    )
    for kind, n in conn.execute(
        select(exceptions.c.type, func.count()).group_by(exceptions.c.type)
    ):
        raised.add_metric([kind], int(n))
    yield raised

    open_now = GaugeMetricFamily(
        "retailhub_exceptions_open",
        "Unresolved exceptions by type, owner team and status (open, or retrying on backoff).",
        labels=["type", "owner", "status"],
    )
    for kind, owner, status, n in conn.execute(
        select(exceptions.c.type, exceptions.c.owner, exceptions.c.status, func.count())
        .where(exceptions.c.status.in_(UNRESOLVED))
        .group_by(exceptions.c.type, exceptions.c.owner, exceptions.c.status)
    ):
        open_now.add_metric([kind, owner, status], int(n))
    yield open_now

    breaches = GaugeMetricFamily(
        "retailhub_sla_breaches",
        "Unresolved exceptions past their service-level target (sla_due_at), by type and owner.",
        labels=["type", "owner"],
    )
    for kind, owner, n in conn.execute(
        select(exceptions.c.type, exceptions.c.owner, func.count())
        .where(
            exceptions.c.status.in_(UNRESOLVED),
            exceptions.c.sla_due_at.is_not(None),
            exceptions.c.sla_due_at <= now,
        )
        .group_by(exceptions.c.type, exceptions.c.owner)
    ):
        breaches.add_metric([kind, owner], int(n))
    yield breaches

    errors_total = CounterMetricFamily(
        "retailhub_connector_errors",
        "connector_error exceptions ever raised (a vendor API unreachable or refusing), by source.",
        labels=["source"],
    )
    errors_open = GaugeMetricFamily(
        "retailhub_connector_errors_open",
        "connector_error exceptions still unresolved, by source.",
        labels=["source"],
    )
    unresolved = func.sum(case((exceptions.c.status.in_(UNRESOLVED), 1), else_=0))
    for source, total, still in conn.execute(
        select(exceptions.c.source, func.count(), unresolved)
        .where(exceptions.c.type == ProblemType.CONNECTOR_ERROR.value)
        .group_by(exceptions.c.source)
    ):
        errors_total.add_metric([source or ""], int(total))
        errors_open.add_metric([source or ""], int(still or 0))
    yield errors_total
    yield errors_open


def _seconds_between(
    conn: Connection, start: ColumnElement[datetime], end: ColumnElement[datetime]
) -> ColumnElement[Any]:
    """``end - start`` in seconds, in SQL (the push history can be long: not read into Python)."""
    if conn.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    # SQLite stores these as ISO text; julianday() turns it into days (SQLite date functions).
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _pushes(conn: Connection) -> Iterator[Metric]:
    pushes = CounterMetricFamily(
        "retailhub_stock_pushes",
        "Availability levels pushed to channels, by channel and whether the channel accepted.",
        labels=["channel", "accepted"],
    )
    for channel, accepted, n in conn.execute(
        select(stock_pushes.c.channel, stock_pushes.c.accepted, func.count()).group_by(
            stock_pushes.c.channel, stock_pushes.c.accepted
        )
    ):
        pushes.add_metric([channel, "true" if accepted else "false"], int(n))
    yield pushes

    # Latency as availability_push.Push.latency defines it: from the oldest coalesced stock
    # change (marked_at) to the channel's acknowledgement (acked_at), accepted pushes only.
    latency = SummaryMetricFamily(
        "retailhub_stock_push_latency_seconds",
        "Seconds from a stock change to the channel acknowledging the new level (accepted).",
        labels=["channel"],
    )
    seconds = _seconds_between(conn, stock_pushes.c.marked_at, stock_pushes.c.acked_at)
    for channel, n, total in conn.execute(
        select(stock_pushes.c.channel, func.count(), func.sum(cast(seconds, Float)))
        .where(stock_pushes.c.accepted.is_(True), stock_pushes.c.acked_at.is_not(None))
        .group_by(stock_pushes.c.channel)
    ):
        latency.add_metric([channel], count_value=int(n), sum_value=float(total or 0.0))
    yield latency


def _reconciliation(conn: Connection) -> Iterator[Metric]:
    latest = conn.execute(
        select(
            reconciliation_runs.c.run_at,
            reconciliation_runs.c.matched,
            reconciliation_runs.c.matchable,
        )
        .order_by(reconciliation_runs.c.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return  # no run yet: no series, rather than a made-up 0% or 100%
    matched = GaugeMetricFamily(
        "retailhub_reconciliation_matched_lines",
        "Settlement lines matched to expected receipts in the latest reconciliation run.",
    )
    matched.add_metric([], int(latest.matched))
    matchable = GaugeMetricFamily(
        "retailhub_reconciliation_matchable_lines",
        "Settlement lines that could be matched in the latest reconciliation run.",
    )
    matchable.add_metric([], int(latest.matchable))
    ran = GaugeMetricFamily(
        "retailhub_reconciliation_last_run_timestamp_seconds",
        "When the latest reconciliation run happened (Unix time).",
    )
    ran.add_metric([], latest.run_at.timestamp())
    yield matched
    yield matchable
    yield ran
    if latest.matchable:
        rate = GaugeMetricFamily(
            "retailhub_settlement_match_rate",
            "Share (0..1) of matchable settlement lines matched in the latest run.",
        )
        rate.add_metric([], int(latest.matched) / int(latest.matchable))
        yield rate


def metrics_registry(engine: Engine, clock: Callable[[], datetime]) -> CollectorRegistry:
    """A registry of its own (not the process-wide default), so that several apps, as in tests,
    do not collide, and that only the hub's series are exposed."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(engine, clock))
    return registry


def metrics_router_for(hub: Hub) -> APIRouter:
    """``GET /metrics`` for ``hub``; mount with ``app.include_router(metrics_router_for(hub))``."""
    registry = metrics_registry(hub.engine, hub.clock)
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:  # sync: FastAPI runs it in the thread pool (database reads)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
