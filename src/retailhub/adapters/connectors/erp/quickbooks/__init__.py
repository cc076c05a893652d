"""QuickBooks Online as an accounting target (Accounting API v3); see docs/erp/quickbooks.md.

``from_options`` reads ``[erp.quickbooks]``::

    [erp.quickbooks]
    realm_id = "9341453050180392"          # the company ("realmId")
    client_id_env = "QBO_CLIENT_ID"
    client_secret_env = "QBO_CLIENT_SECRET"
    refresh_token_env = "QBO_REFRESH_TOKEN"  # the first one; rotated ones live in the database
    documents = false                      # true: SalesReceipt / RefundReceipt / Deposit

    [erp.quickbooks.accounts]              # hub account (longest prefix) -> QuickBooks Account Id
    "Income:Sales" = "79"

Modules: ``documents`` (entry -> JSON), ``oauth`` (tokens), ``faults`` (error bodies),
``target`` (the call, idempotency and error translation, on the connector kit's ``ApiClient``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.connectors.erp.quickbooks.documents import Dimensions, DocumentMapper
from retailhub.adapters.connectors.erp.quickbooks.oauth import TOKEN_URL, intuit_oauth
from retailhub.adapters.connectors.erp.quickbooks.target import MINOR_VERSION, QuickBooksTarget
from retailhub.adapters.connectors.kit import (
    ApiClient,
    Idempotency,
    IdempotencyStyle,
    RateLimiter,
    RetryPolicy,
    qbo_fault,
)
from retailhub.adapters.storage.erp_repo import SqlTokenStore

API_URL = "https://quickbooks.api.intuit.com"  # sandbox: https://sandbox-quickbooks.api.intuit.com
REQUESTS_PER_MINUTE = 500  # per company (realm): Intuit "Limits and throttles"
BURST = 10  # Intuit allows 10 requests at once per company; we never send more in a burst
THROTTLE_WAIT = 60.0  # after a 429 without Retry-After: Intuit asks apps to wait a minute
REQUEST_ID_MAX = 50  # Intuit: requestid "maximum of 50 characters" (36 for batch)

__all__ = ["MINOR_VERSION", "QuickBooksTarget", "from_options"]


def from_options(
    options: Mapping[str, Any],
    tokens: SqlTokenStore,
    clock: Callable[[], datetime],
    transport: httpx.BaseTransport | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> QuickBooksTarget:
    """The target for ``[erp.quickbooks]``; ``sleep``/``monotonic`` let tests run storms fast."""
    realm_id = _text(options, "realm_id")
    accounts = _table(options, "accounts")
    if not accounts:
        raise ValueError("[erp.quickbooks.accounts] is empty: map the hub's accounts first")
    documents = bool(options.get("documents", False))
    items = _table(options, "items")
    if documents and not items:
        raise ValueError("documents = true needs [erp.quickbooks.items] (hub account -> item Id)")
    timeout = float(options.get("timeout_seconds", 60.0))
    auth = intuit_oauth(
        tokens,
        clock,
        _text(options, "client_id"),
        _text(options, "client_secret"),
        initial_refresh_token=options.get("refresh_token") or None,
        token_url=str(options.get("token_url") or TOKEN_URL),
        transport=transport,
        timeout=timeout,
    )
    per_minute = int(options.get("requests_per_minute", REQUESTS_PER_MINUTE))
    throttle_wait = float(options.get("throttle_wait_seconds", THROTTLE_WAIT))
    client = ApiClient(
        str(options.get("base_url") or API_URL),
        headers={"Accept": "application/json"},
        auth=auth,
        # A bucket of BURST refilled so that BURST + a minute's refill is the minute's limit.
        limiter=RateLimiter(BURST, max(per_minute - BURST, 1) / 60.0, clock=monotonic, sleep=sleep),
        retry=RetryPolicy(
            max_attempts=int(options.get("max_attempts", 5)),
            base=1.0,
            cap=max(60.0, throttle_wait),
            min_delay_after_429=throttle_wait,
        ),
        idempotency=Idempotency(IdempotencyStyle.QUERY, "requestid", REQUEST_ID_MAX),
        error_in_body=qbo_fault,
        transport=transport,
        timeout=timeout,
        sleep=sleep,
    )
    mapper = DocumentMapper(
        AccountMap("quickbooks", accounts),
        items,
        Dimensions(_table(options, "departments"), _table(options, "classes")),
        documents=documents,
        bank_account=str(options.get("bank_account", "Assets:Bank")),
        item_tax_code=options.get("item_tax_code") or None,
    )
    home = options.get("home_currency")
    return QuickBooksTarget(
        client,
        mapper,
        realm_id,
        str(home).upper() if home else None,
        check_existing=bool(options.get("check_existing", False)),
    )


def _text(options: Mapping[str, Any], key: str) -> str:
    value = options.get(key)
    if value in (None, ""):
        raise ValueError(f"{key} is missing (or {key}_env names an empty variable)")
    return str(value)


def _table(options: Mapping[str, Any], key: str) -> dict[str, str]:
    value = options.get(key) or {}
    if not isinstance(value, Mapping):
        raise ValueError(f"[erp.quickbooks.{key}] must be a table")
    return {str(k): str(v) for k, v in value.items()}
