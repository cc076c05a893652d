"""Who owns an exception, how soon it must be handled, how urgent it is, and how retries back off.

The policy is configuration (``[exceptions]`` in retailhub.toml, ``ExceptionPolicyConfig``) over
defaults: owners from ``domain/problems.DEFAULT_OWNERS``, service levels per team below. The
storage layer needs it when an exception is opened, but the unit of work is built in many
places, so the composition root installs the deployment's policy once with ``configure`` and
``current()`` hands it to every repository and processor that was not given one explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from retailhub.config import ExceptionPolicyConfig
from retailhub.domain.problems import DEFAULT_OWNERS, ProblemType, Team

# Service level per owner team, in minutes, when the configuration names none. IT first (an
# integration down stops every sale from flowing), eCommerce within a shift, store operations
# by the next day's opening, finance within a day (it must be clear before close).
DEFAULT_SLA_MINUTES: dict[str, int] = {
    Team.IT.value: 60,
    Team.ECOMMERCE.value: 4 * 60,
    Team.STORE_OPS.value: 8 * 60,
    Team.FINANCE.value: 24 * 60,
}

# Revenue at stake (minor units) that makes an exception "big": 1,000.00 in a two-decimal
# currency. One step more urgent at or above it.
BIG_AMOUNT = 100_000

# Only these failures are worth retrying by machine: a vendor API that timed out, throttled us
# (429) or failed (5xx) may answer next time; an unknown SKU will not fix itself.
RETRIABLE: frozenset[ProblemType] = frozenset({ProblemType.CONNECTOR_ERROR})


@dataclass(frozen=True)
class ExceptionPolicy:
    routing: Mapping[str, str] = field(default_factory=dict)  # type -> team
    sla_minutes: Mapping[str, int] = field(default_factory=dict)  # type or team -> minutes
    retry_limit: int = 5
    retry_base_seconds: float = 30.0

    @classmethod
    def from_config(cls, config: ExceptionPolicyConfig) -> ExceptionPolicy:
        return cls(
            dict(config.routing),
            dict(config.sla_minutes),
            config.retry_limit,
            config.retry_base_seconds,
        )

    def owner(self, problem_type: ProblemType | str) -> str:
        """The team that owns a type: the configured route, else the domain's default."""
        kind = ProblemType(problem_type)
        return self.routing.get(kind.value, DEFAULT_OWNERS[kind].value)

    def sla_due(self, problem_type: ProblemType | str, owner: str, opened_at: datetime) -> datetime:
        """When it breaches its service level: minutes for the type, else the owner team's."""
        kind = ProblemType(problem_type).value
        minutes = self.sla_minutes.get(kind)
        if minutes is None:
            minutes = self.sla_minutes.get(owner, DEFAULT_SLA_MINUTES.get(owner, 24 * 60))
        return opened_at + timedelta(minutes=minutes)

    def retriable(self, problem_type: ProblemType | str) -> bool:
        return ProblemType(problem_type) in RETRIABLE

    def retry_delay(self, attempt: int, jitter: float) -> timedelta:
        """Wait before automatic retry number ``attempt`` (1-based).

        ``base × 2^(attempt−1) × (0.5 + jitter)`` with ``jitter`` in [0, 1): exponential backoff
        with "equal" jitter so many failed deliveries do not all come back at one instant.
        """
        if attempt < 1:
            raise ValueError(f"retry attempt must be 1 or more, got {attempt}")
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), got {jitter}")
        factor = 2 ** (attempt - 1) * (0.5 + jitter)
        return timedelta(seconds=self.retry_base_seconds * factor)


def priority(
    amount: int, blocking: bool, opened_at: datetime, sla_due_at: datetime | None, now: datetime
) -> int:
    """1 (most urgent) to 4, from revenue impact and age.

    The base is the impact: a blocking problem with revenue at stake is 2, blocking without
    revenue 3, advisory 4 (advisory with revenue 3). A big amount (``BIG_AMOUNT`` or more) is one
    step more urgent, and so is an exception past half its service level; never above 1.
    """
    base = (2 if blocking else 3) + (0 if amount > 0 else 1)
    if amount >= BIG_AMOUNT:
        base -= 1
    if sla_due_at is not None and now >= opened_at + (sla_due_at - opened_at) / 2:
        base -= 1
    return max(1, base)


_current = ExceptionPolicy()


def configure(policy: ExceptionPolicy) -> None:
    """Install the deployment's policy (the composition root calls this once at start-up)."""
    global _current
    _current = policy


def current() -> ExceptionPolicy:
    """The installed policy (defaults until ``configure`` is called)."""
    return _current
