"""Stock control commands: ship and receive transfers, record cycle counts.

These come from the stores (a person shipping a box, counting a shelf), not from a channel's
deliveries, so they run as commands in their own transaction; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from retailhub.domain import inventory, stock_control
from retailhub.domain.catalog import Item
from retailhub.domain.stock_control import CycleCount, Transfer
from retailhub.services.ports import UnitOfWork
from retailhub.services.rules import HubRules


class StockControlStore(Protocol):
    def transfer(self, reference: str) -> Transfer | None: ...

    def add_transfer(self, t: Transfer) -> None: ...

    def mark_received(self, t: Transfer) -> None: ...

    def add_count(self, c: CycleCount) -> None: ...


class StockControlError(ValueError):
    """A command that cannot be carried out as asked (unknown SKU, transfer already received…)."""


def ship_transfer(
    uow: UnitOfWork,
    store: StockControlStore,
    rules: HubRules,
    t: Transfer,
) -> None:
    item = _item(uow, t.sku)
    if t.quantity <= 0 or t.source == t.destination:
        raise StockControlError("a transfer moves a positive quantity between two locations")
    if store.transfer(t.reference) is not None:
        raise StockControlError(f"transfer {t.reference} already exists")
    store.add_transfer(t)
    uow.inventory.record(
        inventory.transfer_out(
            t.sku, t.source, t.destination, t.quantity, t.shipped_at, f"transfer:{t.reference}"
        ),
        None,
    )
    entry = stock_control.shipped_entry(
        t, item.unit_cost.amount, item.unit_cost.currency, rules.posting, _day(rules, t.shipped_at)
    )
    if entry is not None:
        uow.ledger.post(entry, None, t.shipped_at)


def receive_transfer(
    uow: UnitOfWork,
    store: StockControlStore,
    rules: HubRules,
    reference: str,
    at: datetime,
    received: int | None = None,
) -> Transfer:
    """Receive a transfer (all of it unless ``received`` says fewer arrived: shrink)."""
    t = store.transfer(reference)
    if t is None:
        raise StockControlError(f"no transfer {reference}")
    if not t.open:
        raise StockControlError(f"transfer {reference} was already received on {t.received_at}")
    got = t.quantity if received is None else received
    if not 0 <= got <= t.quantity:
        raise StockControlError(f"received {got} of a transfer of {t.quantity}")
    item = _item(uow, t.sku)
    done = Transfer(t.reference, t.sku, t.source, t.destination, t.quantity, t.shipped_at, got, at)
    store.mark_received(done)
    uow.inventory.record(
        [inventory.transfer_in(t.sku, t.destination, t.quantity, got, at, f"transfer:{reference}")],
        None,
    )
    entry = stock_control.received_entry(
        done, got, item.unit_cost.amount, item.unit_cost.currency, rules.posting, _day(rules, at)
    )
    if entry is not None:
        uow.ledger.post(entry, None, at)
    return done


def count_stock(
    uow: UnitOfWork,
    store: StockControlStore,
    rules: HubRules,
    sku: str,
    location: str,
    counted: int,
    reason: str,
    at: datetime,
    reference: str,
) -> CycleCount:
    """A counted quantity replaces on hand; the difference is an adjustment with its reason."""
    if counted < 0:
        raise StockControlError("a count cannot be negative")
    item = _item(uow, sku)
    expected = uow.inventory.position(sku, location).on_hand
    count = CycleCount(sku, location, counted, expected, reason, at, reference)
    store.add_count(count)
    if count.difference:
        uow.inventory.record(
            [inventory.adjustment(sku, location, count.difference, at, reason, reference)], None
        )
        entry = stock_control.count_entry(
            count, item.unit_cost.amount, item.unit_cost.currency, rules.posting, _day(rules, at)
        )
        if entry is not None:
            uow.ledger.post(entry, None, at)
    return count


def _item(uow: UnitOfWork, sku: str) -> Item:
    item = uow.catalog.item(sku)
    if item is None:
        raise StockControlError(f"unknown SKU {sku!r}: import the item master first")
    return item


def _day(rules: HubRules, at: datetime) -> date:
    return at.astimezone(rules.timezone).date()
