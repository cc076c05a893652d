"""Commands that do not arrive as channel deliveries: stock received into a location."""

from __future__ import annotations

from datetime import datetime

from retailhub.domain import inventory
from retailhub.domain.ledger import EntryBuilder, SourceRef
from retailhub.domain.posting_rules import TxType
from retailhub.services.ports import UnitOfWork
from retailhub.services.rules import HubRules


def receive_stock(
    uow: UnitOfWork,
    rules: HubRules,
    sku: str,
    location: str,
    quantity: int,
    at: datetime,
    reference: str,
    counter_account: str | None = None,
    uom: str | None = None,
) -> None:
    """Goods arrive: on hand goes up and inventory is valued at the item's cost.

    The credit side defaults to opening balances (a first stock load); a purchase receipt would
    credit goods-received-not-invoiced instead, which the ERP connectors bring later.
    """
    item = uow.catalog.item(sku)
    if item is None:
        raise KeyError(f"unknown SKU {sku!r}")
    quantity = item.base_units(quantity, uom)  # a case of 12 received is 12 eaches on hand
    uow.inventory.record([inventory.receipt(sku, location, quantity, at, reference)], None)
    rule = rules.posting.rule(TxType.INVENTORY_ADJUSTMENT, at.date())
    acc = rule.accounts
    b = EntryBuilder(item.unit_cost.currency, location=location)
    value = quantity * item.unit_cost.amount
    b.debit(acc.inventory, value, sku)
    b.credit(counter_account or acc.opening_balances, value, sku)
    entry = rule.finish(
        b.build(
            at.date(),
            f"Stock received: {quantity} {sku} at {location}",
            SourceRef("receipt", reference),
            f"receipt:{sku}:{location}",
        )
    )
    if entry is not None:
        uow.ledger.post(entry, None, at)
