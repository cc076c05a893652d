"""Shared money helpers and the mappers for facts reported after the order.

Fulfilments, refunds and stock levels arrive on their own topics and embedded in order bodies;
both paths map through here. Amounts are shop money in integer minor units.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from retailhub.adapters.connectors.shopify import payloads as p
from retailhub.adapters.connectors.shopify.errors import PayloadError
from retailhub.domain.events import InventoryLevelReported
from retailhub.domain.money import MoneyError, check_currency, to_minor
from retailhub.domain.orders import (
    DiscountAllocation,
    ExternalRef,
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    TaxLine,
)
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod, RefundTender

SYSTEM = "shopify"

# restock_type values (shopify.dev REST Refund: no_restock, cancel, return, legacy_restock).
_DISPOSITIONS: Mapping[str, Disposition] = {
    "return": Disposition.RESTOCK,
    "legacy_restock": Disposition.RESTOCK,  # read-only: the deprecated ``restock: true``
    "cancel": Disposition.CANCEL,
}
_SHIPPED = frozenset({"fulfilled", "partial"})

# Refund gateways that are not the original tender. "gift_card" and "cash" are Shopify's own
# gateway names; store-credit refunds are reported as "shopify_store_credit" (seen in public
# integrations mapping Shopify transactions to a store-credit column; not confirmed on
# shopify.dev, so any gateway name containing "store_credit" counts).
_TENDER_METHODS: Mapping[str, RefundMethod] = {
    "gift_card": RefundMethod.GIFT_CARD,
    "cash": RefundMethod.CASH,
    "shopify_store_credit": RefundMethod.STORE_CREDIT,
}


# ``to_minor`` is pure and shop prices repeat (the same price, tax and "0.00" in every order),
# so a bounded memo keeps Decimal arithmetic off the hot path; rounding still lives in money.
_to_minor = lru_cache(maxsize=8192)(to_minor)


def shop_minor(plain: Decimal, money_set: p.MoneySet | None, currency: str) -> int:
    """Shop money in minor units: the ``*_set`` shop amount when present, else the plain field."""
    return _to_minor(money_set.shop_money.amount if money_set else plain, currency)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def tax_lines(lines: list[p.TaxLine], currency: str) -> tuple[TaxLine, ...]:
    return tuple(
        TaxLine(t.title, t.rate, shop_minor(t.price, t.price_set, currency)) for t in lines
    )


def discounts(
    allocations: list[p.DiscountAllocation], titles: list[str], currency: str, where: str
) -> tuple[DiscountAllocation, ...]:
    out = []
    for i, a in enumerate(allocations):
        index = a.discount_application_index
        if index >= len(titles):  # the index points into the order's discount_applications
            raise PayloadError(
                f"{where}.discount_allocations[{i}].discount_application_index {index} "
                f"is out of range ({len(titles)} discount_applications)"
            )
        out.append(DiscountAllocation(shop_minor(a.amount, a.amount_set, currency), titles[index]))
    return tuple(out)


def check_code(code: str | None, where: str) -> str:
    if not code:
        raise PayloadError(f"currency missing at `{where}`")
    try:
        return check_currency(code)
    except MoneyError as exc:
        raise PayloadError(f"{exc} at `{where}`") from None


def fulfilment(f: p.Fulfillment) -> Fulfilment:
    return Fulfilment(
        fulfilment_id=str(f.id),
        order_id=str(f.order_id),
        kind=FulfilmentKind.SHIPMENT,  # the handler upgrades it to PICKUP from the order
        location=ExternalRef(SYSTEM, str(f.location_id)) if f.location_id is not None else None,
        lines=tuple(FulfilmentLine(str(li.id), li.quantity) for li in f.line_items),
        occurred_at=utc(f.created_at),
        status=f.status,
        tracking_number=f.tracking_number,
        shipment_status=f.shipment_status,
        delivered_at=utc(f.updated_at or f.created_at)
        if f.shipment_status == "delivered"
        else None,
    )


def refund_currency(r: p.Refund) -> str:
    """A standalone refund names no shop currency; find it on its own amounts."""
    for rli in r.refund_line_items:
        for money_set in (rli.subtotal_set, rli.line_item and rli.line_item.price_set):
            if money_set and money_set.shop_money.currency_code:
                return check_code(money_set.shop_money.currency_code, "$.refund_line_items")
    for adj in r.order_adjustments:
        if adj.amount_set and adj.amount_set.shop_money.currency_code:
            return check_code(adj.amount_set.shop_money.currency_code, "$.order_adjustments")
    for tx in r.transactions:
        if tx.currency:
            return check_code(tx.currency, "$.transactions")
    raise PayloadError("currency missing: no shop money or transaction currency in refund")


def refund(
    r: p.Refund,
    currency: str,
    fulfilment_status: Callable[[int], str | None] | None = None,
) -> Refund:
    lines = tuple(
        _refund_line(rli, i, currency, fulfilment_status)
        for i, rli in enumerate(r.refund_line_items)
    )
    shipping, shipping_tax, discrepancy = _adjustments(r, currency)
    return Refund(
        refund_id=str(r.id),
        order_id=str(r.order_id),
        occurred_at=utc(r.created_at),
        lines=lines,
        tenders=tuple(_tender(t, currency) for t in r.transactions
                      if t.kind == "refund" and t.status == "success"),
        shipping=shipping,
        shipping_tax=shipping_tax,
        discrepancy=discrepancy,
        note=r.note,
        return_id=str(r.return_.id) if r.return_ else None,
    )  # fmt: skip


def _refund_line(
    rli: p.RefundLineItem,
    i: int,
    currency: str,
    fulfilment_status: Callable[[int], str | None] | None,
) -> RefundLine:
    disposition = _DISPOSITIONS.get(rli.restock_type)
    if disposition is None:
        if rli.restock_type != "no_restock":
            raise PayloadError(
                f"unknown restock_type {rli.restock_type!r} at `$.refund_line_items[{i}]`"
            )
        # no_restock on shipped units is a refund without a return; on unshipped ones a cancel.
        status = rli.line_item.fulfillment_status if rli.line_item else None
        if status is None and fulfilment_status is not None:
            status = fulfilment_status(rli.line_item_id)
        disposition = Disposition.NOT_RETURNED if status in _SHIPPED else Disposition.CANCEL
    return RefundLine(
        line_id=str(rli.line_item_id),
        quantity=rli.quantity,
        disposition=disposition,
        location=ExternalRef(SYSTEM, str(rli.location_id)) if rli.location_id is not None else None,
        subtotal=shop_minor(rli.subtotal, rli.subtotal_set, currency),
        tax=shop_minor(rli.total_tax, rli.total_tax_set, currency),
    )


def _tender(t: p.Transaction, currency: str) -> RefundTender:
    gateway = t.gateway or ""
    method = _TENDER_METHODS.get(gateway)
    if method is None:
        store_credit = "store_credit" in gateway
        method = RefundMethod.STORE_CREDIT if store_credit else RefundMethod.ORIGINAL_TENDER
    # A transaction's ``amount`` is in its own ``currency`` (the presentment currency).
    amount_currency = (
        check_code(t.currency, "$.transactions[].currency") if t.currency else currency
    )
    return RefundTender(str(t.id), gateway, to_minor(t.amount, amount_currency), method)


def _adjustments(r: p.Refund, currency: str) -> tuple[int, int, int]:
    """(shipping, shipping tax, discrepancy) refunded, as positive minor units.

    ``order_adjustments`` amounts are negative strings ("-5.00"). From 2024-10 the same
    shipping refund is *also* listed in ``refund_shipping_lines`` (the REST Refund example
    response shows both for one 5.00 shipping refund), so those lines win when present and
    the ``shipping_refund`` adjustments are used only for what they lack (their tax).
    """
    adj_shipping = adj_tax = discrepancy = 0
    for a in r.order_adjustments:
        if a.kind == "shipping_refund":
            adj_shipping -= shop_minor(a.amount, a.amount_set, currency)
            adj_tax -= shop_minor(a.tax_amount, a.tax_amount_set, currency)
        elif a.kind == "refund_discrepancy":  # kept with Shopify's sign: informational
            discrepancy += shop_minor(a.amount, a.amount_set, currency)
    lines = r.refund_shipping_lines
    if not lines:
        return adj_shipping, adj_tax, discrepancy
    shipping = sum(_set_amount(s.subtotal_amount_set, currency) for s in lines)
    taxed = [s.tax_amount_set for s in lines if s.tax_amount_set is not None]
    tax = sum(_set_amount(t, currency) for t in taxed) if taxed else adj_tax
    return shipping, tax, discrepancy


def _set_amount(money_set: p.MoneySet | None, currency: str) -> int:
    return abs(to_minor(money_set.shop_money.amount, currency)) if money_set else 0


def inventory_level(level: p.InventoryLevel) -> InventoryLevelReported:
    if level.available is None:  # null when the item is not tracked at that location
        raise PayloadError("available is null at `$.available`: item not stocked or not tracked")
    return InventoryLevelReported(
        item=ExternalRef(SYSTEM, str(level.inventory_item_id)),
        location=ExternalRef(SYSTEM, str(level.location_id)),
        available=level.available,
        updated_at=utc(level.updated_at),
    )
