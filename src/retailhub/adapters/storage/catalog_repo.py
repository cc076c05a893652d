"""Items, locations and their identities in other systems."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.dialect import insert_for
from retailhub.adapters.storage.tables import item_identities, items, location_identities, locations
from retailhub.domain.catalog import Item, Location, UnitConversion, channel_eligibility
from retailhub.domain.money import Money
from retailhub.domain.orders import ExternalRef

_MISSING = object()
_item_by_sku = select(items).where(items.c.sku == bindparam("sku"))


def _item(row: Any) -> Item:
    return Item(
        sku=row.sku,
        title=row.title,
        unit_cost=Money(row.unit_cost, row.currency),
        tax_class=row.tax_class,
        barcode=row.barcode,
        style=row.style,
        options=tuple(tuple(o) for o in (row.options or [])),
        uom=row.uom,
        conversions=tuple(UnitConversion(c[0], c[1]) for c in (row.conversions or [])),
        tracks_inventory=row.tracks_inventory,
        **_eligibility(row.channels),
    )


def _eligibility(text: str | None) -> dict[str, frozenset[str]]:
    only, excluded = channel_eligibility(text)
    return {"only_channels": only, "excluded_channels": excluded}


@dataclass
class CatalogCache:
    """Master-data reads remembered across the batches of one processing run.

    A run is short (the worker starts a new one each time it finds work), so an item created
    meanwhile is seen by the next run; that is what ``exceptions retry`` relies on.
    """

    items: dict[str, Item | None] = field(default_factory=dict)
    identities: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    locations: dict[tuple[str, str], str | None] = field(default_factory=dict)


class SqlCatalogRepository:
    def __init__(self, conn: Connection, cache: CatalogCache | None = None) -> None:
        self.conn = conn
        cache = cache if cache is not None else CatalogCache()
        self._items = cache.items
        self._identities = cache.identities
        self._locations = cache.locations

    def item(self, sku: str) -> Item | None:
        cached = self._items.get(sku, _MISSING)
        if cached is _MISSING:
            row = self.conn.execute(_item_by_sku, {"sku": sku}).first()
            cached = self._items[sku] = _item(row) if row else None
        return cached  # type: ignore[return-value]

    def sku_for(self, ref: ExternalRef, kind: str) -> str | None:
        key = (ref.system, kind, ref.id)
        if key not in self._identities:
            self._identities[key] = self.conn.execute(
                select(item_identities.c.sku).where(
                    item_identities.c.system == ref.system,
                    item_identities.c.kind == kind,
                    item_identities.c.external_id == ref.id,
                )
            ).scalar()
        return self._identities[key]

    def location_for(self, ref: ExternalRef) -> str | None:
        key = (ref.system, ref.id)
        if key not in self._locations:
            self._locations[key] = self.conn.execute(
                select(location_identities.c.location).where(
                    location_identities.c.system == ref.system,
                    location_identities.c.external_id == ref.id,
                )
            ).scalar()
        return self._locations[key]

    # -- writes (master data import, init) ---------------------------------------------------

    def save_location(self, location: Location) -> None:
        stmt = insert_for(self.conn, locations).values(
            code=location.code, name=location.name, kind=location.kind.value, region=location.region
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["code"],
                set_={
                    "name": location.name,
                    "kind": location.kind.value,
                    "region": location.region,
                },
            )
        )
        for system, external_id in location.external_ids.items():
            ident = insert_for(self.conn, location_identities).values(
                system=system, external_id=external_id, location=location.code
            )
            self.conn.execute(
                ident.on_conflict_do_update(
                    index_elements=["system", "external_id"], set_={"location": location.code}
                )
            )

    def save_items(self, batch: Iterable[tuple[Item, dict[str, str]]], system: str) -> int:
        """Upsert items and their identities (kind -> external id, in ``system`` unless the
        kind is written ``other_system:kind``)."""
        rows, idents = [], []
        for item, identities in batch:
            rows.append(
                {
                    "sku": item.sku,
                    "title": item.title,
                    "barcode": item.barcode,
                    "style": item.style,
                    "options": [list(o) for o in item.options],
                    "uom": item.uom,
                    "conversions": [[c.uom, c.factor] for c in item.conversions],
                    "tax_class": item.tax_class,
                    "unit_cost": item.unit_cost.amount,
                    "currency": item.unit_cost.currency,
                    "tracks_inventory": item.tracks_inventory,
                    "channels": item.channels_text,
                }
            )
            idents += [
                {
                    "system": named.partition(":")[0] if ":" in named else system,
                    "kind": named.rpartition(":")[2],
                    "external_id": ext,
                    "sku": item.sku,
                }
                for named, ext in identities.items()
            ]
            self._items.pop(item.sku, None)
        self._identities.clear()
        if not rows:
            return 0
        stmt = insert_for(self.conn, items)
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["sku"],
                set_={
                    c: stmt.excluded[c]
                    for c in (
                        "title",
                        "barcode",
                        "style",
                        "options",
                        "uom",
                        "conversions",
                        "tax_class",
                        "unit_cost",
                        "currency",
                        "tracks_inventory",
                        "channels",
                    )
                },
            ),
            rows,
        )
        if idents:
            istmt = insert_for(self.conn, item_identities)
            self.conn.execute(
                istmt.on_conflict_do_update(
                    index_elements=["system", "kind", "external_id"],
                    set_={"sku": istmt.excluded.sku},
                ),
                idents,
            )
        self._identities.clear()
        return len(rows)
