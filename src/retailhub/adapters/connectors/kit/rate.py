"""A client-side token bucket that slows down before the vendor answers 429.

Shopify REST is itself a leaky bucket (40 requests, leaking 2/s on standard plans) and reports
its fill level on every response (``X-Shopify-Shop-Api-Call-Limit: 32/40``); Xero reports what is
left of its 60/min (``X-MinLimit-Remaining``). ``observe`` lowers the local bucket to what the
vendor says is left, minus ``headroom``, because other clients of the same shop share the bucket.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from .headers import parse_call_limit, parse_int

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """``capacity`` tokens, refilled at ``refill_per_second``; ``acquire`` blocks until paid."""

    def __init__(
        self,
        capacity: float,
        refill_per_second: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        headroom: float = 1.0,
    ) -> None:
        if capacity <= 0 or refill_per_second <= 0:
            raise ValueError("capacity and refill_per_second must be positive")
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.headroom = headroom
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        # Held while sleeping on purpose: waiters queue up instead of all waking at once.
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, sleeping first if the bucket is short; returns seconds slept."""
        if cost > self.capacity:
            raise ValueError(f"cost {cost} exceeds bucket capacity {self.capacity}")
        with self._lock:
            self._refill()
            waited = 0.0
            if self._tokens < cost:
                waited = (cost - self._tokens) / self.refill_per_second
                self._sleep(waited)
                self._refill()
            self._tokens -= cost
            return waited

    def observe(self, headers: Mapping[str, str]) -> None:
        """Align the bucket with the vendor's view of it from response headers."""
        lowered = {key.lower(): value for key, value in headers.items()}
        call_limit = parse_call_limit(lowered.get("x-shopify-shop-api-call-limit"))
        if call_limit is not None:
            used, size = call_limit
            self._lower_to(size - used)
        minute_remaining = parse_int(lowered.get("x-minlimit-remaining"))
        if minute_remaining is not None:
            self._lower_to(minute_remaining)

    def _lower_to(self, vendor_remaining: float) -> None:
        with self._lock:
            self._refill()
            # May go below zero: the next acquire then waits for the vendor's bucket to drain.
            self._tokens = min(self._tokens, vendor_remaining - self.headroom)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.refill_per_second)
        self._updated = now
