"""Stripe connector: signed webhooks in, payouts and their balance transactions fetched.

Public surface::

    StripeWebhooks(secrets, api=None, tolerance=300, clock=time.time)   a WebhookSource
    StripeApi(api_key, base_url=..., transport=None, ...)               read calls on the kit
    verify_stripe_signature(secrets, body, header, now, tolerance=300) -> SignatureCheck
    signature_header(secrets, body, timestamp) -> str                   (for tests and tools)
    translate(topic, body, api=None) -> InboundEvent
    settlement_from(payout, balance_transactions) -> Settlement

Exceptions: ``PayloadError`` / ``UnknownTopic`` (a body), ``SettlementError`` and its
``PayoutNotReconciled`` / ``ManualPayout`` (a payout), ``ApiRequired`` (no key configured);
HTTP failures are the connector kit's.
"""

from retailhub.adapters.connectors.stripe.api import API_VERSION, StripeApi
from retailhub.adapters.connectors.stripe.errors import (
    ApiRequired,
    ManualPayout,
    PayloadError,
    PayoutNotReconciled,
    SettlementError,
    UnknownTopic,
)
from retailhub.adapters.connectors.stripe.inbound import TOPICS, StripeReader, translate
from retailhub.adapters.connectors.stripe.settlement import settlement_from
from retailhub.adapters.connectors.stripe.signature import (
    SignatureCheck,
    signature_header,
    verify_stripe_signature,
)
from retailhub.adapters.connectors.stripe.webhook import StripeWebhooks

__all__ = [
    "API_VERSION",
    "TOPICS",
    "ApiRequired",
    "ManualPayout",
    "PayloadError",
    "PayoutNotReconciled",
    "SettlementError",
    "SignatureCheck",
    "StripeApi",
    "StripeReader",
    "StripeWebhooks",
    "UnknownTopic",
    "settlement_from",
    "signature_header",
    "translate",
    "verify_stripe_signature",
]
