"""The connector kit's exception tree, sorted by how the caller recovers::

    ConnectorError                 anything an outbound connector call can raise
      ├── RetriableError           timeouts, connection errors, 408, 429, 5xx: try again later
      └── FatalError               the request itself is wrong: fix data or config, don't retry
            ├── AuthError          401/403 (after one token refresh): re-authorise the connection
            ├── NotFoundError      404: the remote record is gone or the id is wrong
            └── ConflictError      409: duplicate idempotency key, stale version, already exists

Vendor and httpx errors are translated here and only here: HTTP statuses by
``translate_response`` and transport exceptions by ``translate_transport_error``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from .bodies import vendor_message
from .headers import parse_http_date, parse_retry_after


class ConnectorError(Exception):
    """Base of the tree; ``status`` and ``body`` are set when a response was received."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        vendor_message: str | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.vendor_message = vendor_message
        self.body = body


class RetriableError(ConnectorError):
    """Transient: the same request may succeed later.

    ``request_sent`` is False when the vendor provably did not act on the request (a 429, a
    refused connection), so even a non-idempotent write may be replayed.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        request_sent: bool = True,
        status: int | None = None,
        vendor_message: str | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message, status=status, vendor_message=vendor_message, body=body)
        self.retry_after = retry_after
        self.request_sent = request_sent


class FatalError(ConnectorError):
    """The request will fail the same way every time; route it to the exception queue."""


class AuthError(FatalError):
    """Credentials were rejected even after a refresh."""


class NotFoundError(FatalError):
    """The addressed resource does not exist."""


class ConflictError(FatalError):
    """The vendor refused because of state: a reused idempotency key, a stale version."""


_FATAL_BY_STATUS: dict[int, type[FatalError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
}


def translate_response(response: httpx.Response) -> None:
    """Return if ``response`` succeeded, else raise the matching ``ConnectorError``."""
    status = response.status_code
    if status < 400:
        return
    body = response.text
    message = vendor_message(_json_or_none(body))
    summary = f"{_describe(response)} -> {status}: {message or response.reason_phrase}"
    if status in (408, 429) or status >= 500:
        now = parse_http_date(response.headers.get("Date")) or time.time()
        raise RetriableError(
            summary,
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now),
            request_sent=status != 429,
            status=status,
            vendor_message=message,
            body=body,
        )
    error = _FATAL_BY_STATUS.get(status, FatalError)
    raise error(summary, status=status, vendor_message=message, body=body)


def translate_transport_error(exc: httpx.TransportError) -> ConnectorError:
    """The kit's error for an httpx transport failure; the caller raises it ``from exc``."""
    # A connect failure or a pool timeout means no byte reached the vendor.
    unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return RetriableError(f"{type(exc).__name__}: {exc}", request_sent=not unsent)
    return FatalError(f"{type(exc).__name__}: {exc}")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _describe(response: httpx.Response) -> str:
    try:
        return f"{response.request.method} {response.request.url}"
    except RuntimeError:  # a Response built by hand has no request
        return "response"
