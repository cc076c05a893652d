"""The HTTP API: webhook intake (verify + durable write, nothing more) and read endpoints.

Webhook endpoints are authenticated only by the source's signature and answer as soon as the
delivery is stored; a worker thread applies deliveries in the background.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from retailhub.adapters.storage import queries
from retailhub.bootstrap import Hub
from retailhub.services.intake import Receipt, receive

MAX_BODY_BYTES = 2 * 1024 * 1024  # Shopify order payloads are well under this


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    """RFC 9457 problem details."""
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


def create_app(hub: Hub, run_worker: bool = True, poll_seconds: float = 0.5) -> FastAPI:
    stop = threading.Event()

    def worker() -> None:
        every = hub.settings.drift_check_minutes * 60
        next_drift = time.monotonic() + every
        while not stop.is_set():
            stats = hub.processor().run_until_idle()  # a fresh run sees new master data
            if hub.push is not None and every > 0 and time.monotonic() >= next_drift:
                hub.check_drift()  # the periodic reconciliation of channel levels
                next_drift = time.monotonic() + every
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

    app = FastAPI(title="retailhub", version="0.1.0", lifespan=lifespan)

    @app.post("/webhooks/{source_name}", status_code=200)
    async def webhook(source_name: str, request: Request) -> Any:
        source = hub.sources.get(source_name)
        if source is None:
            return _problem(404, "Unknown source", f"no connector named {source_name!r}")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _problem(413, "Payload too large", f"limit is {MAX_BODY_BYTES} bytes")

        def store() -> Receipt:
            with hub.uow() as uow:
                stored = receive(uow, source, headers, body, hub.clock())
                uow.commit()
                return stored

        headers = dict(request.headers)
        # The write may wait for the worker's batch to commit: do it off the event loop so
        # other deliveries are still read and answered meanwhile.
        receipt = await run_in_threadpool(store)
        if receipt.status == "rejected":
            return _problem(
                401, "Signature verification failed", f"kept as exception {receipt.exception_id}"
            )
        return {
            "status": receipt.status,
            "inbox_id": receipt.inbox_id,
            "correlation_id": receipt.correlation_id,
        }

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/inventory/{sku}/atp")
    def atp(sku: str) -> dict[str, Any]:
        rules = hub.settings.rules()
        with hub.uow() as uow:
            positions = queries.positions(uow.conn, sku)
            if not positions:
                raise HTTPException(404, f"no stock recorded for {sku}")
            return {
                "sku": sku,
                "atp": queries.atp(
                    uow.conn, sku, rules.availability, rules.safety, rules.sales_window_days
                ),
            }

    @app.get("/ledger/trial-balance")
    def trial_balance() -> dict[str, Any]:
        with hub.uow() as uow:
            rows = queries.trial_balance(uow.conn)
        return {
            "accounts": rows,
            "debits": sum(r["debits"] for r in rows),
            "credits": sum(r["credits"] for r in rows),
        }

    @app.get("/exceptions")
    def exceptions(status: str = "open") -> list[dict[str, Any]]:
        with hub.uow() as uow:
            return queries.list_exceptions(uow.conn, None if status == "all" else status)

    return app
