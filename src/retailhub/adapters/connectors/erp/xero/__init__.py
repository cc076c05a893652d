"""Xero (Accounting API 2.0) as an accounting target.

``[erp.xero]`` in retailhub.toml (see docs/erp/xero.md)::

    [erp.xero]
    tenant_id = "…"                 # the organisation (GET /connections after connecting)
    client_id = "…"
    client_secret_env = "XERO_CLIENT_SECRET"
    refresh_token_env = "XERO_REFRESH_TOKEN"   # seeds the first connection; then rotated in the DB
    documents = false               # true: invoices + payments, bank transactions
    [erp.xero.accounts]
    "Income:Sales" = "200"

Modules: ``documents`` (entry → Xero JSON), ``auth`` (OAuth 2.0 refresh and tenant header),
``limits`` (60/min, 5,000/day), ``errors`` (ValidationException bodies), ``target`` (sending,
idempotency, looking before resending).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from retailhub.adapters.connectors.erp.accounts import AccountMap
from retailhub.adapters.connectors.kit import ApiClient, Idempotency, IdempotencyStyle, RetryPolicy

from .auth import TokenStore, XeroOAuth
from .documents import DIMENSIONS, XeroMapping
from .limits import DailyLimitReached, XeroLimits
from .target import XeroTarget

PRODUCTION = "https://api.xero.com"
TOKEN_URL = "https://identity.xero.com/connect/token"
# Xero's tracking: at most two active tracking categories per organisation.
_MAX_TRACKING = 2


def from_options(
    options: Mapping[str, Any],
    tokens: TokenStore,
    clock: Callable[[], datetime],
    transport: httpx.BaseTransport | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> XeroTarget:
    """The target ``[erp.xero]`` describes; ``sleep``/``monotonic`` let tests run time fast."""
    timeout = float(options.get("timeout", 30.0))
    base_url = str(options.get("base_url", PRODUCTION)).rstrip("/")
    auth = XeroOAuth(
        tenant_id=_required(options, "tenant_id"),
        client_id=_required(options, "client_id"),
        client_secret=_required(options, "client_secret"),
        token_url=str(options.get("token_url", TOKEN_URL)),
        configured_refresh_token=options.get("refresh_token") or None,
        store=tokens,
        clock=clock,
        http=httpx.Client(transport=transport, timeout=timeout),
    )
    api = ApiClient(
        f"{base_url}/api.xro/2.0/",
        headers={"Accept": "application/json"},
        auth=auth,
        limiter=XeroLimits(clock=monotonic, sleep=sleep),
        # A minute 429 asks for at most 60 s; a longer Retry-After is not waited for.
        retry=RetryPolicy(max_attempts=5, base=1.0, cap=60.0),
        idempotency=Idempotency(IdempotencyStyle.HEADER, "Idempotency-Key", max_length=128),
        transport=transport,
        timeout=timeout,
        sleep=sleep,
    )
    return XeroTarget(
        api,
        mapping_from(options),
        look_before_resending=bool(options.get("look_before_resending", True)),
    )


def mapping_from(options: Mapping[str, Any]) -> XeroMapping:
    tracking = {str(k): str(v) for k, v in (options.get("tracking") or {}).items()}
    unknown = set(tracking) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"tracking: unknown dimension(s) {sorted(unknown)} (one of {DIMENSIONS})")
    if len(tracking) > _MAX_TRACKING:
        raise ValueError("tracking: Xero allows two tracking categories")
    defaults = XeroMapping(AccountMap("xero", {}))
    return XeroMapping(
        AccountMap("xero", options.get("accounts")),
        documents=bool(options.get("documents", False)),
        contact=str(options.get("contact", defaults.contact)),
        payment_accounts=_names(options, "payment_accounts", defaults.payment_accounts),
        bank_accounts=_names(options, "bank_accounts", defaults.bank_accounts),
        base_currency=options.get("base_currency") or None,
        tracking=tracking,
        tracking_options={
            str(dim): {str(k): str(v) for k, v in values.items()}
            for dim, values in (options.get("tracking_options") or {}).items()
        },
    )


def _required(options: Mapping[str, Any], key: str) -> str:
    value = options.get(key)
    if not value:
        raise ValueError(f"{key} is required (or {key}_env naming an environment variable)")
    return str(value)


def _names(options: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


__all__ = ["DailyLimitReached", "XeroMapping", "XeroTarget", "from_options", "mapping_from"]
