"""Inventory as immutable movements; positions and available-to-promise are folds over them.

A movement carries deltas for each bucket of a SKU at a location. The stored position is a
read model kept in step with the movements in the same transaction; ``fold`` recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"
    RESERVATION = "reservation"
    RELEASE = "release"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    RETURN_RESTOCK = "return_restock"
    QUARANTINE = "quarantine"


@dataclass(frozen=True, slots=True)
class Movement:
    sku: str
    location: str
    kind: MovementKind
    occurred_at: datetime
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    quarantined: int = 0
    reason: str | None = None
    reference: str | None = None  # the order / fulfilment / refund it belongs to


@dataclass(frozen=True, slots=True)
class Position:
    sku: str
    location: str
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    quarantined: int = 0
    safety_stock: int = 0

    @property
    def net_available(self) -> int:
        """On hand less what is promised and what is held back; may be negative."""
        return self.on_hand - self.reserved - self.safety_stock

    @property
    def sellable(self) -> int:
        return max(0, self.net_available)

    def apply(self, movement: Movement) -> Position:
        return replace(
            self,
            on_hand=self.on_hand + movement.on_hand,
            reserved=self.reserved + movement.reserved,
            in_transit=self.in_transit + movement.in_transit,
            quarantined=self.quarantined + movement.quarantined,
        )


def fold(movements: Iterable[Movement]) -> dict[tuple[str, str], Position]:
    """Positions per (sku, location) from the movements alone."""
    positions: dict[tuple[str, str], Position] = {}
    for m in movements:
        key = (m.sku, m.location)
        positions[key] = positions.get(key, Position(m.sku, m.location)).apply(m)
    return positions


def sale(
    sku: str, location: str, qty: int, at: datetime, reference: str, from_reserved: int = 0
) -> Movement:
    """Goods leave: on hand goes down, and so does the reservation they were held under."""
    return Movement(
        sku,
        location,
        MovementKind.SALE,
        at,
        on_hand=-qty,
        reserved=-from_reserved,
        reference=reference,
    )


def reservation(sku: str, location: str, qty: int, at: datetime, reference: str) -> Movement:
    kind = MovementKind.RESERVATION if qty >= 0 else MovementKind.RELEASE
    return Movement(sku, location, kind, at, reserved=qty, reference=reference)


def receipt(sku: str, location: str, qty: int, at: datetime, reference: str) -> Movement:
    return Movement(sku, location, MovementKind.RECEIPT, at, on_hand=qty, reference=reference)


def restock(sku: str, location: str, qty: int, at: datetime, reference: str) -> Movement:
    return Movement(
        sku, location, MovementKind.RETURN_RESTOCK, at, on_hand=qty, reference=reference
    )


def quarantine(sku: str, location: str, qty: int, at: datetime, reference: str) -> Movement:
    return Movement(
        sku, location, MovementKind.QUARANTINE, at, quarantined=qty, reference=reference
    )


def adjustment(
    sku: str, location: str, delta: int, at: datetime, reason: str, reference: str
) -> Movement:
    return Movement(
        sku,
        location,
        MovementKind.ADJUSTMENT,
        at,
        on_hand=delta,
        reason=reason,
        reference=reference,
    )


def transfer_out(
    sku: str, source: str, destination: str, qty: int, at: datetime, reference: str
) -> list[Movement]:
    """Goods leave ``source`` for ``destination``: off the shelf there, in transit here."""
    return [
        Movement(sku, source, MovementKind.TRANSFER_OUT, at, on_hand=-qty, reference=reference),
        Movement(
            sku, destination, MovementKind.TRANSFER_OUT, at, in_transit=qty, reference=reference
        ),
    ]


def transfer_in(
    sku: str, destination: str, shipped: int, received: int, at: datetime, reference: str
) -> Movement:
    """The transfer arrives: all of it leaves transit, what was received goes on the shelf."""
    return Movement(
        sku,
        destination,
        MovementKind.TRANSFER_IN,
        at,
        on_hand=received,
        in_transit=-shipped,
        reference=reference,
    )
