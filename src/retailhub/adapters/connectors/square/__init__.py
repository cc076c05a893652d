"""Square connector: webhook signatures, the inbound mapper, and the REST client.

Public surface::

    SquareWebhooks(signature_keys, notification_url, api=None, channel="pos")   WebhookSource
    SquareApi(access_token, base_url=PRODUCTION, square_version=SQUARE_VERSION, transport=None)
        .retrieve_orders(location_id, order_ids) -> list[dict]
        .search_orders(location_ids, updated_since) -> Iterator[dict]
        .list_payments(begin_time) -> Iterator[dict]
        .batch_change_inventory(changes, idempotency_key) -> dict
    sign(signature_key, notification_url, body) -> str
    verify_signature(signature_keys, notification_url, body, header_value) -> bool
    parse_order(raw) -> payloads.Order;  order_events(order, channel=…, tender_types=…)

Exceptions::

    PayloadError (ValueError)    the payload cannot be mapped
      ├── UnknownTopic           an event type this connector does not handle
      └── UnlinkedReturn         a return that names no original sale
"""

from retailhub.adapters.connectors.square.api import (
    PRODUCTION,
    SANDBOX,
    SQUARE_VERSION,
    SquareApi,
    square_idempotency_key,
)
from retailhub.adapters.connectors.square.errors import PayloadError, UnknownTopic, UnlinkedReturn
from retailhub.adapters.connectors.square.inbound import TOPICS, order_events, parse_order
from retailhub.adapters.connectors.square.signature import HEADER, sign, verify_signature
from retailhub.adapters.connectors.square.webhook import SquareWebhooks

__all__ = [
    "HEADER",
    "PRODUCTION",
    "SANDBOX",
    "SQUARE_VERSION",
    "TOPICS",
    "PayloadError",
    "SquareApi",
    "SquareWebhooks",
    "UnknownTopic",
    "UnlinkedReturn",
    "order_events",
    "parse_order",
    "sign",
    "square_idempotency_key",
    "verify_signature",
]
