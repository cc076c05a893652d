"""``ShopifyInventoryPush``: the availability push target for Shopify (REST Admin API).

One ``POST /admin/api/{version}/inventory_levels/set.json`` per level, body ``{"location_id",
"inventory_item_id", "available"}`` (shopify.dev, REST Admin API, InventoryLevel "set"); the
answer is ``{"inventory_level": {"inventory_item_id", "location_id", "available", "updated_at",
"admin_graphql_api_id"}}``. Setting an absolute level makes a resend harmless, so no idempotency
key is needed (REST has none).

Rate limits (shopify.dev/docs/api/admin-rest/usage/rate-limits): a leaky bucket of 40 requests
leaking 2 a second on standard plans (4 on Advanced, 20 on Plus), the fill level reported on every
response as ``X-Shopify-Shop-Api-Call-Limit: 32/40``, and 429 with ``Retry-After`` (seconds,
``2.0``) when over. The kit's ``RateLimiter`` paces the calls and ``observe``s that header, which
also accounts for other workers of the same app on the shop; the kit retries a 429 after at least
``Retry-After``, and a 429 is replayable because Shopify did not act on it.

REST Admin is "legacy" since 2024-10-01 for new public apps; the GraphQL ``inventorySetQuantities``
mutation sets many levels per call and is the way past the 2 calls/s ceiling (docs/availability-push.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import httpx

from retailhub.adapters.connectors.kit import (
    ApiClient,
    AuthError,
    ConnectorError,
    RateLimiter,
    RetryPolicy,
)
from retailhub.adapters.connectors.push_results import failed
from retailhub.services.availability_push import LevelUpdate, PushResult

# A stable REST Admin version (shopify.dev/docs/api/usage/versioning); pinned, not "latest".
API_VERSION = "2025-10"
BUCKET_SIZE = 40  # standard plans (REST Admin API rate limits, "Key figures")
LEAK_PER_SECOND = 2.0
_EXCERPT = 300


def _utcnow() -> datetime:
    return datetime.now(UTC)


def shopify_id(value: str, kind: str) -> int:
    """Shopify's numeric id from ``"123"`` or ``"gid://shopify/{kind}/123"``."""
    text = value.strip()
    prefix = f"gid://shopify/{kind}/"
    if text.startswith(prefix):
        text = text[len(prefix) :]
    if not text.isdigit():
        raise ValueError(
            f"Shopify {kind} id must be a number or {prefix}<number>, got {value!r}; "
            "check the item's Shopify identity in the item master"
        )
    return int(text)


class ShopifyInventoryPush:
    """Sets Shopify ``available`` levels, one call per (inventory item, location)."""

    def __init__(
        self,
        shop_url: str,
        access_token: str,
        *,
        api_version: str = API_VERSION,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = _utcnow,
        timeout: float = 30.0,
    ) -> None:
        self.limiter = limiter or RateLimiter(BUCKET_SIZE, LEAK_PER_SECOND)
        self._clock = clock
        self.client = ApiClient(
            f"{shop_url.rstrip('/')}/admin/api/{api_version}/",
            headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
            limiter=self.limiter,
            retry=retry or RetryPolicy(max_attempts=5, base=0.5, cap=60.0),
            transport=transport,
            timeout=timeout,
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    @property
    def max_batch(self) -> int:
        """As many levels as the bucket lets through without waiting (at least one), so each
        level is read from the ledger just before its call rather than seconds earlier."""
        return max(1, int(self.limiter.tokens))

    def push(self, updates: Sequence[LevelUpdate]) -> list[PushResult]:
        results: list[PushResult] = []
        for index, update in enumerate(updates):
            try:
                body = {
                    "location_id": shopify_id(update.location_id, "Location"),
                    "inventory_item_id": shopify_id(update.item_id, "InventoryItem"),
                    "available": update.quantity,
                }
            except ValueError as exc:
                results.append(PushResult(update, False, None, str(exc)))
                continue
            try:
                response = self.client.send("POST", "inventory_levels/set.json", json=body)
            except AuthError as exc:
                # Every other call would be refused the same way: answer them without sending.
                results.append(failed(update, exc))
                unsent = f"not sent: credentials refused earlier in this batch ({exc.status})"
                results.extend(PushResult(u, False, None, unsent) for u in updates[index + 1 :])
                break
            except ConnectorError as exc:
                results.append(failed(update, exc))
            else:
                acked = self._clock()
                answer = response.text[:_EXCERPT]
                results.append(
                    PushResult(update, True, response.status_code, answer, acked_at=acked)
                )
        return results
