"""Health, readiness and the business KPIs.

``/health`` says the process answers; ``/ready`` says it can do its job (the database answers
and its schema is current), so a load balancer sends traffic only then. Neither needs a token
and neither reveals more than that. ``/kpis`` is read behind a token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import text

from retailhub.adapters.storage import kpi_queries
from retailhub.adapters.storage.migrate import pending_migrations
from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.auth import Principal, requires
from retailhub.entrypoints.api.errors import problem
from retailhub.services import kpis


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["operations"])
    # Dependencies are passed as defaults: with postponed annotations FastAPI resolves
    # ``Annotated[...]`` against module globals, where this closure's ``hub`` is not visible.
    reader = Depends(requires(hub, "read"))

    @api.get("/health", summary="The process answers")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get(
        "/ready",
        summary="Database reachable and schema current",
        responses={503: {"description": "Not ready (problem details say which check failed)"}},
    )
    def ready() -> Any:
        try:
            with hub.engine.connect() as conn:
                conn.execute(text("select 1"))
            pending = pending_migrations(hub.engine)
        except Exception:  # the reason goes to the log, not to an unauthenticated caller
            return problem(
                503,
                "the database does not answer",
                title="Not ready",
                checks={"database": "failed", "migrations": "unknown"},
            )
        if pending:
            return problem(
                503,
                f"{len(pending)} database migration(s) pending: run 'retailhub init'",
                title="Not ready",
                checks={"database": "ok", "migrations": "pending"},
            )
        return {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}

    @api.get("/kpis", summary="Business KPIs: current value and a daily series", tags=["kpis"])
    def business_kpis(
        days: Annotated[int, Query(ge=1, le=366)] = 30,
        _: Principal = reader,
    ) -> list[dict[str, Any]]:
        now = hub.clock()
        with hub.uow() as uow:
            figures = kpis.compute(kpi_queries.SqlKpiSamples(uow.conn), now, days)
        return [
            {
                "key": k.key,
                "title": k.title,
                "unit": k.unit,
                "value": k.value,
                "shown": k.shown(),
                "samples": k.samples,
                "meaning": k.meaning,
                "series": [{"day": d.isoformat(), "value": v} for d, v in k.series],
            }
            for k in figures
        ]

    return api
