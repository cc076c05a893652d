"""How long to wait before retrying a ``RetriableError``, and when to stop.

Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter")
spreads the retries of many workers hitting one vendor. A vendor's ``Retry-After`` is a floor the
kit never undercuts; if it exceeds ``cap`` the policy gives up rather than wait less than asked,
so the worker can reschedule the job (Xero's daily limit answers with hours).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import Enum

# 2**62 * base already dwarfs any sane cap; bounding the exponent keeps float maths finite.
_MAX_EXPONENT = 62


class Jitter(Enum):
    NONE = "none"  # the full exponential delay (deterministic; useful in tests)
    FULL = "full"  # uniform in [0, delay]
    EQUAL = "equal"  # delay/2 + uniform in [0, delay/2]


@dataclass
class RetryPolicy:
    """Backoff for one connector.

    ``min_delay_after_429`` is a per-vendor floor after a 429 without ``Retry-After``:
    QuickBooks Online asks for 60 s (developer.intuit.com, limits and throttles).
    """

    max_attempts: int = 5
    base: float = 0.5
    cap: float = 60.0
    jitter: Jitter = Jitter.FULL
    min_delay_after_429: float = 0.0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base < 0 or self.cap < 0:
            raise ValueError("max_attempts must be >= 1, base and cap >= 0")

    def delay(
        self, attempt: int, *, retry_after: float | None = None, status: int | None = None
    ) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), or None to stop."""
        if attempt >= self.max_attempts:
            return None
        floor = retry_after or 0.0
        if status == 429:
            floor = max(floor, self.min_delay_after_429)
        if floor > self.cap:
            return None
        return max(floor, self.backoff(attempt))

    def backoff(self, attempt: int) -> float:
        """The jittered exponential component alone, within ``[0, cap]``."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        ceiling = min(self.cap, self.base * 2.0**exponent)
        if self.jitter is Jitter.FULL:
            return self.rng.uniform(0.0, ceiling)
        if self.jitter is Jitter.EQUAL:
            return ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        return ceiling
