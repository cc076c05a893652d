"""Parsers for the response headers the kit acts on: ``Retry-After`` and vendor call limits."""

from __future__ import annotations

import math
from datetime import UTC
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None if absent or unreadable.

    RFC 9110 §10.2.3 allows delay-seconds or an HTTP-date; Shopify sends fractional seconds
    (``2.0``), so floats are accepted. ``now`` is the epoch time the date is measured against
    (the caller passes the response's ``Date`` header when present, to sidestep clock skew).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds from an HTTP-date (e.g. the ``Date`` header), or None."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    """``(used, size)`` from Shopify's ``X-Shopify-Shop-Api-Call-Limit: 32/40``, or None."""
    if not value or "/" not in value:
        return None
    used, _, size = value.partition("/")
    try:
        return int(used.strip()), int(size.strip())
    except ValueError:
        return None


def parse_int(value: str | None) -> int | None:
    """An integer header such as Xero's ``X-MinLimit-Remaining``, or None."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
