"""What the availability push reads and writes: channel levels computed from our positions,
and the audit of every pushed quantity.

Both run on the pusher's own threads, so each call opens its own connection (a unit of work
belongs to one thread).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from retailhub.adapters.storage import queries
from retailhub.adapters.storage.tables import item_identities, location_identities, stock_pushes
from retailhub.domain import availability
from retailhub.services.availability_push import LevelKey, PushRecord
from retailhub.services.rules import HubRules

# The item identity each channel's stock API names an item by.
ITEM_KIND = {"shopify": "inventory_item", "square": "variant"}


@dataclass
class SqlChannelLevels:
    """``levels(sku)``: the level each pushing channel should show at each of its locations:
    the location's share of the channel's ATP (``availability.atp_by_location``)."""

    engine: Engine
    rules: HubRules
    channels: Mapping[str, str]  # pushing system -> the canonical channel its levels show

    def __call__(self, sku: str) -> dict[LevelKey, int]:
        with self.engine.connect() as conn:
            held = queries.positions(conn, sku)
            sold_on = queries.item_channels(conn, sku)
            items = {
                r.system: r.external_id
                for r in conn.execute(select(item_identities).where(item_identities.c.sku == sku))
                if ITEM_KIND.get(r.system) == r.kind
            }
            places: dict[tuple[str, str], str] = {
                (r.system, r.location): r.external_id
                for r in conn.execute(select(location_identities))
            }
        levels: dict[LevelKey, int] = {}
        for system, channel in self.channels.items():
            rule = self.rules.availability.get(channel)
            item = items.get(system)
            if rule is None or item is None:
                continue  # the item is not listed on that channel
            if not sold_on(channel):
                for code in rule.locations:  # not eligible there: show none
                    place = places.get((system, code))
                    if place is not None:
                        levels[LevelKey(system, place, item)] = 0
                continue
            by_location = availability.atp_by_location(held, rule, self.rules.safety)
            for code, quantity in by_location.items():
                place = places.get((system, code))
                if place is not None:
                    levels[LevelKey(system, place, item)] = max(0, quantity)
        return levels


@dataclass
class SqlPushAudit:
    engine: Engine

    def record(self, records: Sequence[PushRecord]) -> None:
        if not records:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(stock_pushes), [_row(r) for r in records])

    def latencies(self, since: datetime | None = None) -> list[float]:
        """Seconds from stock change to channel acknowledgement, accepted pushes only."""
        q = select(stock_pushes.c.marked_at, stock_pushes.c.acked_at).where(
            stock_pushes.c.accepted.is_(True), stock_pushes.c.acked_at.is_not(None)
        )
        if since is not None:
            q = q.where(stock_pushes.c.sent_at >= since)
        with self.engine.connect() as conn:
            return [(a - m).total_seconds() for m, a in conn.execute(q)]

    def history(self, sku: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    select(stock_pushes)
                    .where(stock_pushes.c.sku == sku)
                    .order_by(stock_pushes.c.id)
                )
            ]


def _row(r: PushRecord) -> dict[str, Any]:
    return {
        "channel": r.channel,
        "sku": r.sku,
        "location_id": r.location_id,
        "item_id": r.item_id,
        "quantity": r.quantity,
        "previous": r.previous,
        "reasons": list(r.reasons),
        "marks": r.marks,
        "marked_at": r.marked_at,
        "sent_at": r.sent_at,
        "acked_at": r.acked_at,
        "accepted": r.accepted,
        "status": r.status,
        "answer": r.answer,
    }
