"""``SquareApi``: the few Square REST calls the hub makes, declared on the connector kit.

Square conventions (developer.squareup.com/docs/build-basics): Bearer access token, a pinned
``Square-Version`` header, errors as ``{"errors": [{"category", "code", "detail"}]}`` (the kit's
``vendor_message`` reads ``detail``), cursors returned in the body and sent back with the same
request, and ``idempotency_key`` in the body of writes. Square does not publish its rate limits;
over them it answers 429 with code ``RATE_LIMITED`` and no ``Retry-After`` (Square developer
forum: "we don't document the limits"), so the kit's exponential backoff with full jitter decides
the wait. Every call here either only reads or carries an idempotency key, so all are retried.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.kit import (
    ApiClient,
    BearerToken,
    CursorInBody,
    FatalError,
    Idempotency,
    IdempotencyStyle,
    RateLimiter,
    RetryPolicy,
)

# A documented version (developer.squareup.com/docs/changelog/connect-logs/2025-10-16); the
# field names the mapper reads are unchanged across 2023–2026 versions.
SQUARE_VERSION = "2025-10-16"
PRODUCTION = "https://connect.squareup.com"
SANDBOX = "https://connect.squareupsandbox.com"

_SEARCH_LOCATIONS_MAX = 10  # SearchOrders: "Max: 10 location IDs"
_SEARCH_LIMIT = 500  # SearchOrders default page size (max 1000)
# Namespace for turning the caller's key into Square's ``idempotency_key`` (a UUID, ≤ 128 chars).
_KEY_NAMESPACE = uuid.UUID("1b0c6c43-5a8e-4f0e-9d0c-7f6b3a1e2d55")


def square_errors(payload: Any) -> str | None:
    """Square's ``errors[]`` in a 2xx body, which Square reserves for failures."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    parts = [
        f"{e.get('detail') or e.get('code')} ({e.get('code')})"
        for e in errors
        if isinstance(e, dict)
    ]
    return "; ".join(parts) or None


def square_idempotency_key(caller_key: str) -> str:
    """Square's ``idempotency_key`` for a write the caller names ``caller_key``.

    Deterministic, so a retry — by the kit, or by a worker after a crash — sends the same key and
    Square applies the change once; a UUID fits every endpoint's length limit.
    """
    if not caller_key:
        raise ValueError("an idempotency key is required for a Square write")
    return str(uuid.uuid5(_KEY_NAMESPACE, caller_key))


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"a timezone-aware time is required, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class SquareApi:
    """Square Orders, Payments and Inventory calls; raises the kit's ``ConnectorError`` tree."""

    def __init__(
        self,
        access_token: str,
        base_url: str = PRODUCTION,
        square_version: str = SQUARE_VERSION,
        transport: httpx.BaseTransport | None = None,
        *,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.client = ApiClient(
            base_url,
            headers={"Square-Version": square_version, "Accept": "application/json"},
            auth=BearerToken(access_token),
            limiter=limiter,
            retry=retry or RetryPolicy(max_attempts=5, base=0.5, cap=30.0),
            idempotency=Idempotency(IdempotencyStyle.BODY, "idempotency_key", max_length=128),
            error_in_body=square_errors,
            transport=transport,
            timeout=timeout,
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    def retrieve_orders(
        self, location_id: str | None, order_ids: Sequence[str]
    ) -> list[dict[str, Any]]:
        """``POST /v2/orders/batch-retrieve``: the full orders; unknown ids are simply absent.

        ``location_id`` may be None to search the whole seller (the sale a return refunds can be
        at another location).
        """
        body: dict[str, Any] = {"order_ids": list(order_ids)}
        if location_id is not None:
            body["location_id"] = location_id
        response = self.client.send("POST", "/v2/orders/batch-retrieve", json=body, read_only=True)
        payload = self.client.parse(response)
        orders = payload.get("orders", []) if isinstance(payload, dict) else None
        if not isinstance(orders, list):
            raise FatalError("BatchRetrieveOrders answered without an `orders` list")
        return [o for o in orders if isinstance(o, dict)]

    def search_orders(
        self, location_ids: Sequence[str], updated_since: datetime
    ) -> Iterator[dict[str, Any]]:
        """``POST /v2/orders/search``: orders updated since ``updated_since``, oldest first.

        At most ten locations per search, so more are searched ten at a time. The sort field must
        match the date filter (Square API reference, SearchOrdersSort), and a page is asked for by
        repeating the same body with the ``cursor`` Square returned.
        """
        if not location_ids:
            raise ValueError("search_orders needs at least one location id")
        query = {
            "filter": {"date_time_filter": {"updated_at": {"start_at": rfc3339(updated_since)}}},
            "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"},
        }
        pages = CursorInBody(items_field="orders", send_in="body")
        for start in range(0, len(location_ids), _SEARCH_LOCATIONS_MAX):
            body = {
                "location_ids": list(location_ids[start : start + _SEARCH_LOCATIONS_MAX]),
                "query": query,
                "limit": _SEARCH_LIMIT,
            }
            yield from self.client.paginate("/v2/orders/search", pages, method="POST", json=body)

    def list_payments(self, begin_time: datetime) -> Iterator[dict[str, Any]]:
        """``GET /v2/payments?begin_time=…``: payments created since ``begin_time``, oldest first."""
        params: Mapping[str, Any] = {"begin_time": rfc3339(begin_time), "sort_order": "ASC"}
        pages = CursorInBody(items_field="payments", send_in="query")
        return self.client.paginate("/v2/payments", pages, params)

    def batch_change_inventory(
        self, changes: list[dict[str, Any]], idempotency_key: str
    ) -> dict[str, Any]:
        """``POST /v2/inventory/changes/batch-create`` with a key derived from the caller's.

        Square requires ``idempotency_key`` in the body (BatchChangeInventoryRequest); the same
        caller key always yields the same Square key, so a retried batch is applied once.
        """
        key = square_idempotency_key(idempotency_key)
        payload = self.client.request(
            "POST",
            "/v2/inventory/changes/batch-create",
            json={"changes": changes, "ignore_unchanged_counts": True},
            idempotency_key=key,
        )
        return payload if isinstance(payload, dict) else {}
