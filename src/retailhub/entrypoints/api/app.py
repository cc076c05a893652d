"""The HTTP API: webhook intake (verify + durable write, nothing more) and the token-guarded
read and action endpoints (one module per area under ``routes/``), with OpenAPI at ``/docs``.

Webhook endpoints are authenticated only by the source's signature and answer as soon as the
delivery is stored; a worker thread applies deliveries in the background. Every other endpoint
needs an API token (``retailhub tokens create``); every error is an RFC 9457 problem.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from retailhub.bootstrap import Hub
from retailhub.entrypoints.alerts import send_due_alerts
from retailhub.entrypoints.api import errors
from retailhub.entrypoints.api.dashboard import dashboard_router
from retailhub.entrypoints.api.metrics import metrics_router_for
from retailhub.entrypoints.api.routes import (
    exceptions,
    inventory,
    items,
    ledger,
    money,
    ops,
    orders,
    webhooks,
)
from retailhub.entrypoints.api.routes.webhooks import MAX_BODY_BYTES
from retailhub.entrypoints.erp_schedule import ErpSchedule
from retailhub.observability import get_logger

__all__ = ["MAX_BODY_BYTES", "create_app"]

DESCRIPTION = """
The retailhub API. Send an API token as `Authorization: Bearer <token>`
(issue one with `retailhub tokens create --role ROLE [--store S]`). Roles: `admin`, `finance`,
`operations`, `read_only`; a token scoped to stores sees only those stores' orders, stock,
journals and exceptions. Webhooks (`POST /webhooks/{source}`) are verified by the channel's
signature instead. Errors are RFC 9457 problem details (`application/problem+json`).
"""


ALERT_EVERY_SECONDS = 60  # how often the worker looks for exceptions past their SLA
log = get_logger("retailhub.api")


def create_app(hub: Hub, run_worker: bool = True, poll_seconds: float = 0.5) -> FastAPI:
    stop = threading.Event()

    def worker() -> None:
        every = hub.settings.drift_check_minutes * 60
        next_drift = time.monotonic() + every
        next_alerts = time.monotonic()
        erp = ErpSchedule(hub)  # [erp.<target>] push_every_minutes
        while not stop.is_set():
            stats = hub.processor().run_until_idle()  # a fresh run sees new master data
            if erp:
                erp.run_due()
            if hub.push is not None and every > 0 and time.monotonic() >= next_drift:
                hub.check_drift()  # the periodic reconciliation of channel levels
                next_drift = time.monotonic() + every
            if hub.settings.alert_webhooks and time.monotonic() >= next_alerts:
                try:  # a webhook or database hiccup must not stop the worker
                    send_due_alerts(hub)
                except Exception:
                    log.exception("sla_alert.run_failed")
                next_alerts = time.monotonic() + ALERT_EVERY_SECONDS
            if not (stats.applied or stats.failed or stats.waiting):
                stop.wait(poll_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        thread = threading.Thread(target=worker, name="retailhub-worker", daemon=True)
        if run_worker:
            thread.start()
            if hub.push is not None:
                hub.push.start()  # one pusher thread per channel with credentials
        yield
        stop.set()
        if run_worker:
            thread.join(timeout=10)
            if hub.push is not None:
                hub.push.stop()

    app = FastAPI(title="retailhub", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    for area in (ops, webhooks, items, inventory, orders, money, ledger, exceptions):
        app.include_router(area.router(hub))
    app.include_router(dashboard_router(hub))  # server-rendered pages at / and /desk/…
    app.include_router(metrics_router_for(hub))  # Prometheus at /metrics
    return app
