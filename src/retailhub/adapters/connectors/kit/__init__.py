"""The shared kit every outbound connector is declared on: one HTTP client with auth refresh,
rate limiting, retries with backoff, idempotency keys, error translation and pagination.

A connector supplies only declarations::

    client = ApiClient(
        "https://quickbooks.api.intuit.com/v3/company/123/",
        auth=my_oauth,
        limiter=RateLimiter(500, 500 / 60),
        retry=RetryPolicy(min_delay_after_429=60.0),
        idempotency=Idempotency(IdempotencyStyle.QUERY, "requestid"),
        error_in_body=qbo_fault,
    )
"""

from .auth import Authenticator, BearerToken, NoAuth
from .bodies import graphql_errors, qbo_fault, vendor_message
from .errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    FatalError,
    NotFoundError,
    RetriableError,
    translate_response,
    translate_transport_error,
)
from .headers import parse_retry_after
from .http import ApiClient
from .idempotency import Idempotency, IdempotencyStyle
from .pagination import (
    CursorInBody,
    LinkHeader,
    NextLink,
    OffsetLimit,
    PageRequest,
    Paginator,
    StartingAfter,
)
from .rate import RateLimiter
from .retry import Jitter, RetryPolicy

__all__ = [
    "ApiClient",
    "AuthError",
    "Authenticator",
    "BearerToken",
    "ConflictError",
    "ConnectorError",
    "CursorInBody",
    "FatalError",
    "Idempotency",
    "IdempotencyStyle",
    "Jitter",
    "LinkHeader",
    "NextLink",
    "NoAuth",
    "NotFoundError",
    "OffsetLimit",
    "PageRequest",
    "Paginator",
    "RateLimiter",
    "RetriableError",
    "RetryPolicy",
    "StartingAfter",
    "graphql_errors",
    "parse_retry_after",
    "qbo_fault",
    "translate_response",
    "translate_transport_error",
    "vendor_message",
]
