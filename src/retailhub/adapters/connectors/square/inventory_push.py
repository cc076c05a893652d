"""``SquareInventoryPush``: the availability push target for Square (Inventory API).

Levels go as ``PHYSICAL_COUNT`` changes in one ``BatchChangeInventory`` call
(``POST /v2/inventory/changes/batch-create``) of at most 100 changes ("Max size is 100 changes",
BatchChangeInventoryRequest). Each change is an InventoryPhysicalCount: ``catalog_object_id`` (the
item variation), ``location_id``, ``quantity`` as a decimal string, ``state: IN_STOCK`` and
``occurred_at``, which Square uses to order changes that arrive out of order and which "cannot be
older than 24 hours or in the future relative to the time of the request"
(developer.squareup.com/reference/square/objects/InventoryPhysicalCount). So ``occurred_at`` is
when the hub read the level, never the time of an old stock event.

The idempotency key is derived from the batch content: the kit resends the same body with the same
key after a 5xx or a timeout, and Square answers a repeated key with the first result instead of
applying the counts again (developer.squareup.com/docs/working-with-apis/idempotency). Square
rejects a whole batch for one bad change, so a refused batch is split in halves until the bad
change is isolated and the others still land.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from retailhub.adapters.connectors.kit import AuthError, ConnectorError, FatalError
from retailhub.adapters.connectors.push_results import failed
from retailhub.adapters.connectors.square.api import SquareApi, rfc3339
from retailhub.services.availability_push import LevelUpdate, PushResult

MAX_CHANGES = 100  # BatchChangeInventoryRequest.changes: "Max size is 100 changes"
_EXCERPT = 300


def physical_count(update: LevelUpdate) -> dict[str, Any]:
    """The InventoryChange that sets ``update``'s level at Square.

    A physical count is what is on the shelf, so a backorder level below zero is sent as 0
    (whether Square accepts negative counts is not documented; we do not rely on it).
    """
    return {
        "type": "PHYSICAL_COUNT",
        "physical_count": {
            "catalog_object_id": update.item_id,
            "location_id": update.location_id,
            "quantity": str(max(0, update.quantity)),
            "state": "IN_STOCK",
            "occurred_at": rfc3339(update.as_of),
        },
    }


def batch_key(changes: Sequence[dict[str, Any]]) -> str:
    """A key that is the same for the same changes and differs for any other batch."""
    canonical = json.dumps(list(changes), sort_keys=True, separators=(",", ":"))
    return "availability:" + hashlib.sha256(canonical.encode()).hexdigest()


class SquareInventoryPush:
    """Sets Square counts, up to 100 per call, through ``SquareApi.batch_change_inventory``."""

    max_batch = MAX_CHANGES

    def __init__(self, api: SquareApi) -> None:
        self.api = api

    def push(self, updates: Sequence[LevelUpdate]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(updates), MAX_CHANGES):
            results.extend(self._push_batch(list(updates[start : start + MAX_CHANGES])))
        return results

    def _push_batch(self, updates: list[LevelUpdate]) -> list[PushResult]:
        changes = [physical_count(u) for u in updates]
        try:
            payload = self.api.batch_change_inventory(changes, batch_key(changes))
        except AuthError as exc:
            return [failed(u, exc) for u in updates]
        except FatalError as exc:
            if len(updates) == 1:
                return [failed(updates[0], exc)]
            half = len(updates) // 2
            return self._push_batch(updates[:half]) + self._push_batch(updates[half:])
        except ConnectorError as exc:
            return [failed(u, exc) for u in updates]
        counts = {
            (c.get("catalog_object_id"), c.get("location_id")): c
            for c in payload.get("counts") or []
            if isinstance(c, dict)
        }
        return [
            # Square answers 200 with the counts it now holds for every object in the request.
            PushResult(u, True, 200, json.dumps(counts.get((u.item_id, u.location_id), {})))
            for u in updates
        ]
