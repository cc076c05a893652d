"""``StripeApi``: the read calls the hub makes to Stripe, declared on the connector kit.

Conventions (docs.stripe.com/api): ``Authorization: Bearer <secret key>``; a ``Stripe-Version``
header pins the response shapes to one API version whatever the account's default is
(docs.stripe.com/api/versioning); list endpoints answer ``{"object": "list", "data": [...],
"has_more": bool}`` and page with ``limit`` (1–100) and ``starting_after=<last id>``
(docs.stripe.com/api/pagination); errors are ``{"error": {"message", "type", "code"}}`` with a
4xx/5xx status. Rate limits (docs.stripe.com/rate-limits): 100 read requests/s in live mode,
25/s in a sandbox, and 429 beyond; the client-side bucket keeps to the sandbox figure and the
kit backs off on 429 and 5xx, honouring ``Retry-After`` when sent. Writes would carry an
``Idempotency-Key`` header of at most 255 characters (docs.stripe.com/api/idempotent_requests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from retailhub.adapters.connectors.kit import (
    ApiClient,
    BearerToken,
    FatalError,
    Idempotency,
    IdempotencyStyle,
    RateLimiter,
    RetryPolicy,
    StartingAfter,
)
from retailhub.adapters.connectors.stripe import payloads as p
from retailhub.adapters.connectors.stripe.settlement import settlement_from
from retailhub.domain.settlements import Settlement

DEFAULT_BASE_URL = "https://api.stripe.com"
# A documented version (docs.stripe.com/changelog/2024-06-20); the payload shapes in
# ``payloads`` and the test fixtures follow it.
API_VERSION = "2024-06-20"
MAX_PAGE = 100
SANDBOX_RATE = 25.0  # requests per second

S = TypeVar("S")


class StripeApi:
    """Read access to one Stripe account with a secret or restricted (read-only) key."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        *,
        api_version: str = API_VERSION,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        page_size: int = MAX_PAGE,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("a Stripe API key (sk_… or a read-only rk_…) is required")
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"Stripe lists take a limit from 1 to {MAX_PAGE}, not {page_size}")
        self.page_size = page_size
        self.client = ApiClient(
            base_url,
            headers={"Stripe-Version": api_version, "Accept": "application/json"},
            auth=BearerToken(api_key),
            limiter=limiter or RateLimiter(SANDBOX_RATE, SANDBOX_RATE),
            retry=retry or RetryPolicy(),
            idempotency=Idempotency(IdempotencyStyle.HEADER, "Idempotency-Key", max_length=255),
            transport=transport,
            timeout=timeout,
            sleep=sleep,
        )

    def __enter__(self) -> StripeApi:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # -- raw calls: Stripe's JSON objects as dicts -------------------------------------------

    def payouts(self, arrival_date_gte: int | None = None) -> Iterator[dict[str, Any]]:
        """Every payout, newest first, optionally only those arriving at or after a Unix time."""
        params: dict[str, Any] = {"limit": self.page_size}
        if arrival_date_gte is not None:
            params["arrival_date[gte]"] = arrival_date_gte
        return self.client.paginate("/v1/payouts", StartingAfter(), params)

    def payout(self, payout_id: str) -> dict[str, Any]:
        body = self.client.request("GET", f"/v1/payouts/{quote(payout_id, safe='')}")
        if not isinstance(body, dict):
            raise FatalError(f"Stripe answered GET /v1/payouts/{payout_id} with no object")
        return body

    def balance_transactions(
        self, payout_id: str, *, expand_source: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Every balance transaction an automatic payout paid out, the payout's own included.

        ``expand[]=data.source`` returns each source object (charge, refund, dispute) instead of
        its id, so the charge's ``metadata.order_id`` is at hand without one call per line
        (docs.stripe.com/payouts/reconciliation uses the same expansion).
        """
        params: dict[str, Any] = {"payout": payout_id, "limit": self.page_size}
        if expand_source:
            params["expand[]"] = "data.source"
        return self.client.paginate("/v1/balance_transactions", StartingAfter(), params)

    def refunds_for_charge(self, charge_id: str) -> Iterator[dict[str, Any]]:
        params = {"charge": charge_id, "limit": self.page_size}
        return self.client.paginate("/v1/refunds", StartingAfter(), params)

    # -- typed reads used by the webhook mapper ----------------------------------------------

    def charge_refunds(self, charge_id: str) -> list[p.Refund]:
        return [
            _typed(raw, p.Refund, f"refund #{i} listed for charge {charge_id}")
            for i, raw in enumerate(self.refunds_for_charge(charge_id), start=1)
        ]

    def settlement_for_payout(self, payout_id: str) -> Settlement:
        """The payout as a ``Settlement`` whose lines add up to the amount paid out.

        Raises ``SettlementError`` (``PayoutNotReconciled``, ``ManualPayout``) when they do not,
        and the kit's ``ConnectorError`` family when Stripe cannot be read.
        """
        payout = _typed(self.payout(payout_id), p.Payout, f"payout {payout_id}")
        transactions = (
            _typed(raw, p.BalanceTransaction, f"balance transaction #{i} of payout {payout_id}")
            for i, raw in enumerate(self.balance_transactions(payout_id), start=1)
        )
        return settlement_from(payout, transactions)


def _typed(raw: dict[str, Any], shape: type[S], what: str) -> S:
    try:
        return msgspec.convert(raw, shape)
    except msgspec.ValidationError as exc:  # "Object missing required field `fee`"
        ident = raw.get("id") if isinstance(raw, dict) else None
        named = f"{what} ({ident})" if ident else what
        raise FatalError(f"unexpected shape of Stripe {named}: {exc}") from None
