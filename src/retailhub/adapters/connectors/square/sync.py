"""Catching up with Square: every order updated since a moment, as order deliveries.

Square documents that ``order.created`` is not published for orders taken on Square Point of
Sale, and a webhook endpoint that was down misses what Square stopped retrying. A sync pass
searches the Orders API (``SearchOrders``, cursor pages, oldest first) and turns each order
found into the same ``order.updated`` stub a webhook would carry; the worker then fetches and
applies it exactly like a webhook. Applying an order is idempotent (newest snapshot wins,
embedded facts once by their ids), so a sync overlapping webhooks changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson

from retailhub.adapters.connectors.square.api import SquareApi

SYNC_TOPIC = "order.updated"


def order_deliveries(
    api: SquareApi, location_ids: Sequence[str], since: datetime
) -> Iterator[tuple[str, bytes]]:
    """(event id, body) of an ``order.updated`` stub for each order updated since ``since``."""
    for order in api.search_orders(location_ids, since):
        yield _stub(order)


def _stub(order: dict[str, Any]) -> tuple[str, bytes]:
    version = order.get("version")
    stamp = version if version is not None else order.get("updated_at", "")
    event_id = f"sync:{order['id']}:{stamp}"
    body = {
        "merchant_id": order.get("merchant_id"),
        "type": SYNC_TOPIC,
        "event_id": event_id,
        "created_at": order.get("updated_at"),
        "data": {
            "type": "order_updated",
            "id": order["id"],
            "object": {
                "order_updated": {
                    "order_id": order["id"],
                    "location_id": order["location_id"],
                    "state": order.get("state"),
                    "version": version,
                    "created_at": order.get("created_at"),
                    "updated_at": order.get("updated_at"),
                }
            },
        },
    }
    return event_id, orjson.dumps(body)
