"""``ApiClient``: one outbound HTTP call path shared by every connector.

Per attempt: authenticate, wait on the rate limiter, send, let the limiter observe the headers,
refresh and replay once on 401, translate the status. Retriable failures are retried per the
``RetryPolicy`` with the *same* idempotency key, so a write the vendor already applied is not
applied twice. Writes without a key are retried only when the vendor provably did not act.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import msgspec

from .auth import Authenticator, NoAuth
from .errors import FatalError, RetriableError, translate_response, translate_transport_error
from .idempotency import Idempotency
from .pagination import PageRequest, Paginator
from .rate import RateLimiter
from .retry import RetryPolicy

ErrorInBody = Callable[[Any], str | None]
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class ApiClient:
    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: Authenticator | None = None,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        idempotency: Idempotency | None = None,
        error_in_body: ErrorInBody | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url, headers=dict(headers or {}), transport=transport, timeout=timeout
        )
        self.auth: Authenticator = auth or NoAuth()
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.idempotency = idempotency or Idempotency()
        self.error_in_body = error_in_body
        self._sleep = sleep

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _build(
        self, method: str, url: httpx.URL, json: Any, headers: Mapping[str, str] | None
    ) -> httpx.Request:
        """JSON bodies are encoded here, not by httpx: ``Decimal`` amounts go out as exact JSON
        numbers (``59.95``), so money never passes through a float on its way to a vendor."""
        if json is None:
            return self._client.build_request(method, url, headers=headers)
        body = _encode_json(json)
        merged = {"Content-Type": "application/json", **(headers or {})}
        return self._client.build_request(method, url, content=body, headers=merged)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency: Idempotency | None = None,
    ) -> Any:
        """Send with retries and return the parsed JSON body (None for an empty body)."""
        response = self.send(
            method, path, params=params, json=json, headers=headers,
            idempotency_key=idempotency_key, idempotency=idempotency,
        )  # fmt: skip
        return self.parse(response)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        idempotency: Idempotency | None = None,
        read_only: bool = False,
    ) -> httpx.Response:
        """Like ``request`` but returns the successful ``httpx.Response`` (for headers, ETags).

        ``read_only`` marks a POST that only reads (Square SearchOrders) as safe to replay.
        """
        params, json, headers = (idempotency or self.idempotency).apply(
            idempotency_key, params, json, headers
        )
        # Merge rather than pass params=: httpx replaces the query of a next-page URL otherwise.
        url = httpx.URL(path).copy_merge_params(params) if params else httpx.URL(path)
        request = self._build(method, url, json, headers)
        attempt = 1
        while True:
            try:
                response = self._send_authenticated(request)
                translate_response(response)
                return response
            except RetriableError as error:
                replayable = read_only or idempotency_key is not None
                delay = self._retry_delay(attempt, error, request, replayable)
                if delay is None:
                    raise
                self._sleep(delay)
                attempt += 1

    def parse(self, response: httpx.Response) -> Any:
        """The JSON body, raising ``FatalError`` for non-JSON or a vendor "error in a 200"."""
        if not response.content:
            return None
        try:
            payload = response.json()
        except ValueError as exc:
            raise FatalError(
                f"expected JSON from {response.request.url}", status=response.status_code,
                body=response.text,
            ) from exc  # fmt: skip
        message = self.error_in_body(payload) if self.error_in_body else None
        if message:
            raise FatalError(
                f"{response.request.method} {response.request.url} -> error in body: {message}",
                status=response.status_code, vendor_message=message, body=response.text,
            )  # fmt: skip
        return payload

    def paginate(
        self,
        path: str,
        paginator: Paginator,
        params: Mapping[str, Any] | None = None,
        *,
        method: str = "GET",
        json: Any = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of every page, in order, fetching pages lazily."""
        page: PageRequest | None = paginator.first(PageRequest(path, dict(params or {}), json))
        while page is not None:
            response = self.send(
                method, page.url, params=page.params, json=page.json, read_only=True
            )
            payload = self.parse(response)
            yield from paginator.items(payload)
            following = paginator.next_page(page, response, payload)
            if following == page:
                raise FatalError(f"paginator did not advance past {page}")
            page = following

    def _send_authenticated(self, request: httpx.Request) -> httpx.Response:
        self.auth.apply(request)
        response = self._transmit(request)
        if response.status_code == 401 and self.auth.refresh():
            self.auth.apply(request)
            response = self._transmit(request)
        return response

    def _transmit(self, request: httpx.Request) -> httpx.Response:
        if self.limiter is not None:
            self.limiter.acquire()
        try:
            response = self._client.send(request)
        except httpx.TransportError as exc:
            raise translate_transport_error(exc) from exc
        if self.limiter is not None:
            self.limiter.observe(response.headers)
        return response

    def _retry_delay(
        self, attempt: int, error: RetriableError, request: httpx.Request, replayable: bool
    ) -> float | None:
        # A timed-out POST without a key may have been applied; replaying could double-post.
        if error.request_sent and not replayable and request.method not in _IDEMPOTENT_METHODS:
            return None
        return self.retry.delay(attempt, retry_after=error.retry_after, status=error.status)


_encoder = msgspec.json.Encoder(decimal_format="number")


def _encode_json(payload: Any) -> bytes:
    return _encoder.encode(payload)
