"""The exception policy: who owns what, when it breaches, how urgent it is, how retries back off."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from retailhub.config import ExceptionPolicyConfig
from retailhub.domain.problems import ProblemType
from retailhub.services.exception_policy import BIG_AMOUNT, ExceptionPolicy, priority

T = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def test_routing_overrides_the_default_owner_and_leaves_the_rest() -> None:
    policy = ExceptionPolicy.from_config(
        ExceptionPolicyConfig(routing={"unknown_sku": "store_ops"})
    )
    assert policy.owner(ProblemType.UNKNOWN_SKU) == "store_ops"
    assert policy.owner("amount_variance") == "finance"  # the domain default
    assert policy.owner(ProblemType.CONNECTOR_ERROR) == "it"


def test_sla_due_by_type_then_team_then_default() -> None:
    policy = ExceptionPolicy(sla_minutes={"unknown_sku": 30, "finance": 120})
    assert policy.sla_due("unknown_sku", "ecommerce", T) == T + timedelta(minutes=30)
    assert policy.sla_due("amount_variance", "finance", T) == T + timedelta(hours=2)
    assert policy.sla_due("connector_error", "it", T) == T + timedelta(hours=1)
    assert policy.sla_due("negative_stock", "store_ops", T) == T + timedelta(hours=8)
    assert ExceptionPolicy().sla_due("amount_variance", "finance", T) == T + timedelta(hours=24)


def test_bigger_and_older_come_first() -> None:
    due = T + timedelta(hours=4)
    small_new = priority(1_000, True, T, due, T)
    big_new = priority(BIG_AMOUNT, True, T, due, T)
    small_old = priority(1_000, True, T, due, T + timedelta(hours=3))
    advisory = priority(0, False, T, due, T)
    assert (big_new, small_new, small_old, advisory) == (1, 2, 1, 4)
    assert priority(0, True, T, due, T) == 3
    assert priority(0, True, T, due, due) == 2  # age alone raises it one step
    assert priority(10 * BIG_AMOUNT, True, T, due, due) == 1  # never above 1


def test_backoff_doubles_with_jitter_between_half_and_one_and_a_half() -> None:
    policy = ExceptionPolicy(retry_base_seconds=30)
    assert policy.retry_delay(1, 0.5) == timedelta(seconds=30)
    assert policy.retry_delay(3, 0.5) == timedelta(seconds=120)
    assert policy.retry_delay(2, 0.0) == timedelta(seconds=30)  # 60 × 0.5
    rng = random.Random(42)
    delays = [policy.retry_delay(n, rng.random()) for n in (1, 2, 3, 4)]
    rng = random.Random(42)
    assert delays == [policy.retry_delay(n, rng.random()) for n in (1, 2, 3, 4)]  # seeded
    for n, d in enumerate(delays, start=1):
        nominal = 30 * 2 ** (n - 1)
        assert nominal * 0.5 <= d.total_seconds() < nominal * 1.5


@pytest.mark.parametrize(("attempt", "jitter"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_backoff_refuses_nonsense(attempt: int, jitter: float) -> None:
    with pytest.raises(ValueError):
        ExceptionPolicy().retry_delay(attempt, jitter)


def test_only_connector_errors_retry_by_machine() -> None:
    policy = ExceptionPolicy()
    assert policy.retriable(ProblemType.CONNECTOR_ERROR)
    assert not policy.retriable(ProblemType.UNKNOWN_SKU)
