"""Xero's API limits, honoured before Xero has to enforce them.

Per connected organisation (developer.xero.com/faq/limits, "OAuth 2.0 API limits"): 5 calls in
progress at once, 60 a minute, 5,000 a day; and 10,000 a minute per app across organisations.
Every answer reports what is left: ``X-MinLimit-Remaining``, ``X-DayLimit-Remaining``,
``X-AppMinLimit-Remaining``. A call over a limit is answered 429 with ``Retry-After`` (seconds)
and ``X-Rate-Limit-Problem`` naming the limit (``minute``, ``day``, …).

The bucket holds 60 calls refilled at one a second and is lowered to whatever Xero says is left
of the minute (and of the app's minute), so calls made by another worker count too. A minute 429
is retried after ``Retry-After`` by the kit. A day 429 is not worth sleeping on — it says hours —
so it stops the push at once (``DailyLimitReached``, a ``TargetUnavailable``: the entries stay
pending and the next push after the reopening posts them); further calls from this process fail
fast until then. Calls are made one at a time, inside the concurrency limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from retailhub.adapters.connectors.kit import RateLimiter, parse_retry_after
from retailhub.adapters.connectors.kit.headers import parse_int
from retailhub.services.erp_posting import TargetUnavailable

PER_MINUTE = 60  # calls per organisation per minute
# A day 429 without a usable Retry-After: look again after this long.
_DAY_PROBE_SECONDS = 60.0


class DailyLimitReached(TargetUnavailable):
    """Xero's 5,000 calls a day for this organisation are spent: post the rest later."""


class XeroLimits(RateLimiter):
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        per_minute: int = PER_MINUTE,
    ) -> None:
        super().__init__(per_minute, per_minute / 60.0, clock=clock, sleep=sleep, headroom=1.0)
        self._now = clock
        self._day_closed_until: float | None = None
        self.day_remaining: int | None = None

    def acquire(self, cost: float = 1.0) -> float:
        until = self._day_closed_until
        if until is not None and self._now() < until:
            raise DailyLimitReached(
                f"xero: the organisation's daily API limit is spent; retry in "
                f"{(until - self._now()) / 60:.0f} min"
            )
        return super().acquire(cost)

    def observe(self, headers: Mapping[str, str]) -> None:
        super().observe(headers)  # X-MinLimit-Remaining
        lowered = {key.lower(): value for key, value in headers.items()}
        app_remaining = parse_int(lowered.get("x-appminlimit-remaining"))
        if app_remaining is not None:
            self._lower_to(app_remaining)
        day_remaining = parse_int(lowered.get("x-daylimit-remaining"))
        if day_remaining is not None:
            self.day_remaining = day_remaining
        if (lowered.get("x-rate-limit-problem") or "").strip().lower() == "day":
            wait = parse_retry_after(lowered.get("retry-after"), time.time())
            self._day_closed_until = self._now() + (wait or _DAY_PROBE_SECONDS)
            hours = f"{wait / 3600:.1f} h" if wait is not None else "a while"
            raise DailyLimitReached(
                f"xero: 429 daily limit (5,000 calls) reached for the organisation; "
                f"Retry-After {hours}"
            )
