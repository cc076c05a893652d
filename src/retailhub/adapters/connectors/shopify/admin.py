"""The Shopify REST Admin client the outbound side shares, and the variant price write-back.

One place builds the client: the shop's ``/admin/api/{version}/`` base, the access token
header, the kit's leaky-bucket limiter (40 requests, leaking 2/s on standard plans, observing
``X-Shopify-Shop-Api-Call-Limit``) and retries that honour 429 ``Retry-After``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from retailhub.adapters.connectors.kit import ApiClient, ConnectorError, RateLimiter, RetryPolicy

API_VERSION = "2025-10"
BUCKET_SIZE, LEAK_PER_SECOND = 40, 2.0


def admin_client(
    shop_url: str,
    access_token: str,
    *,
    api_version: str = API_VERSION,
    limiter: RateLimiter | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 30.0,
) -> ApiClient:
    return ApiClient(
        f"{shop_url.rstrip('/')}/admin/api/{api_version}/",
        headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"},
        limiter=limiter or RateLimiter(BUCKET_SIZE, LEAK_PER_SECOND),
        retry=retry or RetryPolicy(max_attempts=5, base=0.5, cap=60.0),
        transport=transport,
        timeout=timeout,
        sleep=sleep,
    )


class ShopifyVariantPrices:
    """Writes a variant's price: ``PUT variants/{id}.json`` with ``{"variant": {"id", "price"}}``
    (shopify.dev REST Admin, ProductVariant "update"). Setting a value is idempotent."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def send(self, kind: str, target: str, payload: dict[str, str]) -> tuple[bool, str]:
        """(sent, the shop's answer or the error) for one owed change."""
        if kind != "price":
            return False, f"Shopify updates of kind {kind!r} are not supported"
        variant_id = target.rsplit("/", 1)[-1]
        body = {"variant": {"id": int(variant_id), "price": payload["price"]}}
        try:
            answer = self.client.request("PUT", f"variants/{variant_id}.json", json=body)
        except ConnectorError as exc:
            return False, str(exc)[:300]
        price = (answer or {}).get("variant", {}).get("price")
        return True, f"variant {variant_id} price now {price}"
