"""Data problems as values: what went wrong, for whom, and whether the delivery may proceed.

Only bugs raise. A bad payload, an unknown SKU or a missing dependency is a ``Problem`` that the
service layer writes to the exception queue with the raw delivery kept for retry or replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemType(StrEnum):
    INVALID_PAYLOAD = "invalid_payload"
    SIGNATURE_FAILURE = "signature_failure"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_LOCATION = "unknown_location"
    MISSING_DEPENDENCY = "missing_dependency"
    OWNERSHIP_VIOLATION = "ownership_violation"
    NEGATIVE_STOCK = "negative_stock"
    INCONSISTENT_DOCUMENT = "inconsistent_document"
    OVERSELL = "oversell"
    PROCESSING_ERROR = "processing_error"
    SEQUENCE_GAP = "sequence_gap"  # a register's sequence skipped or repeated numbers
    UNLINKED_RETURN = "unlinked_return"  # a POS return accepted without its original sale
    CONNECTOR_ERROR = "connector_error"  # a vendor API could not be reached or refused us
    CONNECTOR_AUTH_FAILURE = "connector_auth_failure"  # a vendor refused our credentials
    MISSING_FROM_SETTLEMENT = "missing_from_settlement"  # a payment no settlement paid out
    UNKNOWN_IN_SETTLEMENT = "unknown_in_settlement"  # a settlement line the hub never saw
    SETTLEMENT_VARIANCE = "amount_variance"  # matched, but the settled amount differs
    UNMATCHED_DEPOSIT = "unmatched_deposit"  # a payout with no bank deposit (or vice versa)
    CASH_OVER_SHORT = "cash_over_short"  # a drawer count differs from the expected cash
    STOCK_DRIFT = "stock_drift"  # a channel shows a level other than the one we hold for it
    POSTING_REJECTED = "posting_rejected"  # an accounting target refused a journal or document
    FX_RATE_MISSING = "fx_rate_missing"  # a foreign-currency amount with no rate for its date
    PERIOD_CLOSED = "period_closed"  # a correction for a closed period, posted to the open one


class Team(StrEnum):
    FINANCE = "finance"
    STORE_OPS = "store_ops"
    ECOMMERCE = "ecommerce"
    IT = "it"


DEFAULT_OWNERS: dict[ProblemType, Team] = {
    ProblemType.INVALID_PAYLOAD: Team.IT,
    ProblemType.SIGNATURE_FAILURE: Team.IT,
    ProblemType.UNKNOWN_TOPIC: Team.IT,
    ProblemType.UNKNOWN_SKU: Team.ECOMMERCE,
    ProblemType.UNKNOWN_LOCATION: Team.IT,
    ProblemType.MISSING_DEPENDENCY: Team.IT,
    ProblemType.OWNERSHIP_VIOLATION: Team.ECOMMERCE,
    ProblemType.NEGATIVE_STOCK: Team.STORE_OPS,
    ProblemType.INCONSISTENT_DOCUMENT: Team.FINANCE,
    ProblemType.OVERSELL: Team.ECOMMERCE,
    ProblemType.PROCESSING_ERROR: Team.IT,
    ProblemType.SEQUENCE_GAP: Team.STORE_OPS,
    ProblemType.UNLINKED_RETURN: Team.STORE_OPS,
    ProblemType.CONNECTOR_ERROR: Team.IT,
    ProblemType.CONNECTOR_AUTH_FAILURE: Team.IT,
    ProblemType.MISSING_FROM_SETTLEMENT: Team.FINANCE,
    ProblemType.UNKNOWN_IN_SETTLEMENT: Team.FINANCE,
    ProblemType.SETTLEMENT_VARIANCE: Team.FINANCE,
    ProblemType.UNMATCHED_DEPOSIT: Team.FINANCE,
    ProblemType.CASH_OVER_SHORT: Team.STORE_OPS,
    ProblemType.STOCK_DRIFT: Team.ECOMMERCE,
    ProblemType.POSTING_REJECTED: Team.FINANCE,
    ProblemType.FX_RATE_MISSING: Team.FINANCE,
    ProblemType.PERIOD_CLOSED: Team.FINANCE,
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Something a person must look at.

    ``blocking`` problems stop the delivery from being applied (it can be retried after a fix);
    advisory ones are recorded while the delivery's effects still apply (a sale that drives
    stock negative still happened).
    """

    type: ProblemType
    reason: str
    blocking: bool = True
    subject: str | None = None  # the record it is about, e.g. "sku:ABC-1" or "order:shopify:123"
    amount: int = 0  # revenue at stake, minor units, for prioritising
    store: str | None = None  # the store (location) it concerns, for store-scoped access


class Blocked(Exception):
    """Raised inside a handler to abandon the delivery's transaction with a blocking problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem


class Waiting(Exception):
    """Raised when a delivery depends on a record that has not arrived yet (a refund before its order).

    ``dependency`` names what it waits for (``order:shopify:123``); applying that record wakes it.
    """

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(reason)
        self.dependency = dependency
        self.reason = reason
