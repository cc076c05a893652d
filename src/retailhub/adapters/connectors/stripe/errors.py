"""The Stripe connector's own exceptions, sorted by how the caller recovers::

    PayloadError (ValueError)    a webhook body cannot be mapped; park it on the exception queue
      └── UnknownTopic           an event type this connector does not handle
    SettlementError (ValueError) a payout whose balance transactions do not explain its amount
      ├── PayoutNotReconciled    Stripe has not finished listing the payout's transactions: retry
      └── ManualPayout           a manual payout: Stripe does not know what it contains
    ApiRequired (LookupError)    mapping needs a Stripe API call and no API key is configured

Failures talking to Stripe (timeouts, 429, 5xx, a refused key) are the connector kit's
``RetriableError`` / ``FatalError`` / ``AuthError`` and are not redefined here.
"""

from __future__ import annotations


class PayloadError(ValueError):
    """A webhook body that cannot be mapped: not JSON, a missing or invalid field."""


class UnknownTopic(PayloadError):
    """An event type this connector does not handle."""


class SettlementError(ValueError):
    """A payout that cannot become a ``Settlement`` whose lines add up to what was paid."""

    def __init__(self, payout_id: str, message: str) -> None:
        super().__init__(message)
        self.payout_id = payout_id


class PayoutNotReconciled(SettlementError):
    """The payout's ``reconciliation_status`` is not ``completed`` yet, so its list is partial.

    Stripe sends ``payout.reconciliation_completed`` when the list can be trusted
    (docs.stripe.com/payouts/reconciliation); fetching again after that succeeds.
    """


class ManualPayout(SettlementError):
    """A manual payout: Stripe does not record which transactions it contains.

    "You control the timing and amount of manual payouts, so Stripe can't identify which
    transactions are included in each payout" (docs.stripe.com/payouts/reconciliation).
    """


class ApiRequired(LookupError):
    """The event can only be mapped with data fetched from Stripe, and no API key is set."""
