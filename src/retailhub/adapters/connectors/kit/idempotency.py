"""Where each vendor wants the idempotency key of a write.

Stripe and Xero: ``Idempotency-Key`` header (≤255 and ≤128 chars); NetSuite async:
``X-NetSuite-idempotency-key``; QuickBooks Online: ``?requestid=``; Square: ``idempotency_key``
in the JSON body. ``ApiClient`` applies the key once, so every retry carries the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


class IdempotencyStyle(Enum):
    HEADER = "header"  # Stripe, Xero: Idempotency-Key; NetSuite async: X-NetSuite-idempotency-key
    QUERY = "query"  # QuickBooks Online: ?requestid=
    BODY = "body"  # Square: "idempotency_key" in the JSON body


@dataclass(frozen=True)
class Idempotency:
    style: IdempotencyStyle = IdempotencyStyle.HEADER
    name: str = "Idempotency-Key"
    max_length: int | None = None  # Stripe 255, Xero 128

    def check(self, key: str) -> None:
        if self.max_length is not None and len(key) > self.max_length:
            raise ValueError(f"idempotency key longer than {self.max_length}: {key!r}")

    def apply(
        self,
        key: str | None,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> tuple[dict[str, Any], Any, dict[str, str]]:
        """Copies of ``params``, ``json`` and ``headers`` carrying ``key`` where the vendor wants it."""
        params, headers = dict(params or {}), dict(headers or {})
        if key is None:
            return params, json, headers
        self.check(key)
        if self.style is IdempotencyStyle.HEADER:
            headers[self.name] = key
        elif self.style is IdempotencyStyle.QUERY:
            params[self.name] = key
        elif json is None or isinstance(json, dict):
            json = {**(json or {}), self.name: key}
        else:
            raise TypeError("a body idempotency key needs a JSON object body")
        return params, json, headers
