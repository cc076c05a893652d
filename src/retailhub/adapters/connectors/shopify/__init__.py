"""Shopify connector: webhook signature checks and the inbound mapper.

Public surface::

    verify_webhook(secret, body, header_value) -> bool
    sign_body(secret, body) -> str
    translate(topic, body, *, channels=None) -> InboundEvent
    TOPICS

Exceptions::

    PayloadError (ValueError)    the body cannot be mapped: bad JSON, a missing field…
      └── UnknownTopic           a topic this connector does not subscribe to
"""

from retailhub.adapters.connectors.shopify.inbound import (
    CHANNELS,
    TOPICS,
    PayloadError,
    UnknownTopic,
    translate,
)
from retailhub.adapters.connectors.shopify.signature import sign_body, verify_webhook

__all__ = [
    "CHANNELS",
    "TOPICS",
    "PayloadError",
    "UnknownTopic",
    "sign_body",
    "translate",
    "verify_webhook",
]
