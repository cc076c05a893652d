"""Webhook intake: authenticated by the source's signature only (never by an API token).

The request does the least it can: size check, signature verification and one durable write
to the inbox; the worker applies the delivery later, so the channel gets its 200 fast and does
not retry (Shopify expects an answer within 5 seconds: shopify.dev, "Webhooks best practices").
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from retailhub.bootstrap import Hub
from retailhub.entrypoints.api.errors import problem
from retailhub.services.intake import Receipt, receive

MAX_BODY_BYTES = 2 * 1024 * 1024  # Shopify order payloads are well under this


def router(hub: Hub) -> APIRouter:
    api = APIRouter(tags=["webhooks"])

    @api.post(
        "/webhooks/{source_name}",
        summary="A channel's signed delivery (Shopify, Stripe, Square, POS)",
        responses={
            401: {"description": "Signature does not verify (kept as an exception)"},
            404: {"description": "No connector with that name"},
            413: {"description": "Body larger than the limit"},
        },
    )
    async def webhook(source_name: str, request: Request) -> Any:
        instance = request.url.path
        source = hub.sources.get(source_name)
        if source is None:
            return problem(
                404,
                f"no connector named {source_name!r}",
                title="Unknown source",
                instance=instance,
            )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return problem(
                413,
                f"limit is {MAX_BODY_BYTES} bytes",
                title="Payload too large",
                instance=instance,
            )
        body = bytearray()
        async for chunk in request.stream():  # stop reading as soon as the limit is passed
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return problem(
                    413,
                    f"limit is {MAX_BODY_BYTES} bytes",
                    title="Payload too large",
                    instance=instance,
                )
        headers = dict(request.headers)

        def store() -> Receipt:
            with hub.uow() as uow:
                stored = receive(uow, source, headers, bytes(body), hub.clock())
                uow.commit()
                return stored

        # The write may wait for the worker's batch to commit: do it off the event loop so
        # other deliveries are still read and answered meanwhile.
        receipt = await run_in_threadpool(store)
        if receipt.status == "rejected":
            return problem(
                401,
                f"kept as exception {receipt.exception_id}",
                title="Signature verification failed",
                instance=instance,
            )
        return {
            "status": receipt.status,
            "inbox_id": receipt.inbox_id,
            "correlation_id": receipt.correlation_id,
        }

    return api
