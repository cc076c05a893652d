"""Items and locations: the master data every movement and sale refers to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from retailhub.domain.money import Money


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """``factor`` units of the item's base unit make one ``uom`` (a case of 12: uom="CASE", 12)."""

    uom: str
    factor: int


def channel_eligibility(text: str | None) -> tuple[frozenset[str], frozenset[str]]:
    """(only, excluded) channels from ``web;pos`` (only there) or ``-amazon`` (not there)."""
    names = [n.strip() for n in (text or "").split(";") if n.strip()]
    return (
        frozenset(n for n in names if not n.startswith("-")),
        frozenset(n[1:].strip() for n in names if n.startswith("-")),
    )


@dataclass(frozen=True, slots=True)
class Item:
    """A sellable SKU. ``unit_cost`` is the cost of one base unit, used for COGS."""

    sku: str
    title: str
    unit_cost: Money
    tax_class: str = "standard"
    barcode: str | None = None
    style: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    uom: str = "EA"
    conversions: tuple[UnitConversion, ...] = ()
    tracks_inventory: bool = True
    # Channel eligibility: sold only on ``only_channels`` when given, never on the excluded.
    only_channels: frozenset[str] = frozenset()
    excluded_channels: frozenset[str] = frozenset()

    def sold_on(self, channel: str) -> bool:
        if self.only_channels and channel not in self.only_channels:
            return False
        return channel not in self.excluded_channels

    @property
    def channels_text(self) -> str | None:
        """The item file's ``channels`` form: ``web;pos`` or ``-amazon``; None for everywhere."""
        if self.only_channels:
            return ";".join(sorted(self.only_channels))
        if self.excluded_channels:
            return ";".join(f"-{c}" for c in sorted(self.excluded_channels))
        return None

    def base_units(self, quantity: int, uom: str | None = None) -> int:
        """Quantity in the base unit: 2 CASE of 12 is 24 EA."""
        if uom is None or uom == self.uom:
            return quantity
        for conversion in self.conversions:
            if conversion.uom == uom:
                return quantity * conversion.factor
        raise ValueError(f"{self.sku}: no conversion from {uom} to {self.uom}")


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"
    FULFILMENT_CENTRE = "fulfilment_centre"
    IN_TRANSIT = "in_transit"


@dataclass(frozen=True, slots=True)
class Location:
    code: str
    name: str
    kind: LocationKind
    region: str | None = None
    external_ids: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def holds_sellable_stock(self) -> bool:
        return self.kind is not LocationKind.IN_TRANSIT
