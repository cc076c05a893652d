"""Shopify as a ``WebhookSource``: the header names, the dedup id, and errors turned into problems."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from retailhub.adapters.connectors.shopify.errors import PayloadError, UnknownTopic
from retailhub.adapters.connectors.shopify.inbound import translate
from retailhub.adapters.connectors.shopify.signature import verify_webhook
from retailhub.domain.events import InboundEvent
from retailhub.domain.problems import Problem, ProblemType


class ShopifyWebhooks:
    """Shopify deliveries. Header names are lower-cased by intake.

    Dedup uses ``X-Shopify-Event-Id``: Shopify documents it as the same on every delivery of
    one event (shopify.dev/docs/apps/build/webhooks/ignore-duplicates). A delivery without it
    falls back to a hash of topic and body, which is equal across redeliveries too.
    """

    name = "shopify"

    def __init__(
        self,
        secrets: Sequence[str],
        channels: Mapping[str, str] | None = None,
        currency: str = "USD",
    ) -> None:
        self.secrets = [s for s in secrets if s]
        self.channels = channels
        self.currency = currency

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return bool(self.secrets) and verify_webhook(
            self.secrets, body, headers.get("x-shopify-hmac-sha256")
        )

    def event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        event_id = headers.get("x-shopify-event-id")
        if event_id:
            return event_id
        digest = hashlib.sha256(self.topic(headers, body).encode() + b"\n" + body).hexdigest()
        return f"sha256:{digest}"

    def topic(self, headers: Mapping[str, str], body: bytes = b"") -> str:
        return headers.get("x-shopify-topic", "")

    def translate(self, topic: str, body: bytes) -> InboundEvent | Problem:
        try:
            return translate(topic, body, channels=self.channels, currency=self.currency)
        except UnknownTopic as exc:
            return Problem(ProblemType.UNKNOWN_TOPIC, f"shopify {topic!r}: {exc}")
        except PayloadError as exc:
            return Problem(ProblemType.INVALID_PAYLOAD, f"shopify {topic}: {exc}")
