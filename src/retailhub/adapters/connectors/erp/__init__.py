"""Outbound accounting targets: the hub's journals posted to an ERP or accounting package.

Each target module exposes ``from_options(options, tokens, clock, transport=None)`` returning an
``AccountingTarget`` (``services/erp_posting.py``); ``build_target`` picks it by name. The
exactly-once rule lives in ``services/erp_posting.py``; a module's job is the vendor's format,
auth, rate limits and error shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import import_module
from typing import Any

import httpx

from retailhub.adapters.storage.erp_repo import SqlTokenStore
from retailhub.services.erp_posting import AccountingTarget

MODULES = {
    "quickbooks": "retailhub.adapters.connectors.erp.quickbooks",
    "xero": "retailhub.adapters.connectors.erp.xero",
    "netsuite": "retailhub.adapters.connectors.erp.netsuite",
    "business_central": "retailhub.adapters.connectors.erp.business_central",
}


def build_target(
    name: str,
    options: Mapping[str, Any],
    tokens: SqlTokenStore,
    clock: Callable[[], datetime],
    transport: httpx.BaseTransport | None = None,
) -> AccountingTarget:
    if name not in MODULES:
        raise ValueError(f"unknown accounting target {name!r} (one of {', '.join(MODULES)})")
    module = import_module(MODULES[name])
    target: AccountingTarget = module.from_options(options, tokens, clock, transport)
    return target
