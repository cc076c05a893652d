"""A Square order (as the Orders API returns it) → the canonical sale and its fulfilments.

Square computes everything per line on reads: ``applied_discounts[].applied_money`` holds each
discount's share of the line (ORDER-scoped discounts are spread over the lines by Square itself)
and ``applied_taxes[].applied_money`` each tax's share (Square API reference, Order: "For taxes
with ORDER scope, the server will generate an OrderLineItemAppliedTax for every line item"), so the
mapper copies amounts and never re-allocates. A POS sale has no fulfillments: it is carried out
of the store when the order completes, which the hub records as a fulfilment of every line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from retailhub.adapters.connectors.square import payloads as p
from retailhub.adapters.connectors.square.errors import PayloadError
from retailhub.adapters.connectors.square.values import (
    EXCHANGE,
    NO_SALE,
    OTHER_TENDER,
    SYSTEM,
    TENDERS,
    amount,
    exchange_tender_id,
    utc,
    whole_quantity,
)
from retailhub.domain.customers import ChannelIdentity, Customer
from retailhub.domain.events import OrderReported
from retailhub.domain.orders import (
    DeliveryMethod,
    DiscountAllocation,
    ExternalRef,
    Fulfilment,
    FulfilmentKind,
    FulfilmentLine,
    Order,
    OrderLine,
    PaymentStatus,
    TaxLine,
)
from retailhub.domain.payments import Tender, TenderMethod

# Square's name for the variation of an item that has only one ("Regular"): not worth a title.
_DEFAULT_VARIATION = "Regular"
_PICKUP_TYPES = frozenset({"PICKUP"})
_SHIP_TYPES = frozenset({"SHIPMENT", "DELIVERY"})


def order_reported(
    o: p.Order,
    channel: str,
    currency: str,
    exchanged_from: str | None = None,
    exchange_credit: int = 0,
) -> OrderReported:
    """The sale side of ``o``: lines, tenders and the fulfilments that have happened.

    In an exchange, ``exchange_credit`` is the part of the total the returned goods paid for;
    it is a store-credit tender of its own, so the tenders add up to what the sale cost.
    """
    tenders = [_tender(t, i, currency) for i, t in enumerate(o.tenders) if t.type != NO_SALE]
    if exchange_credit:
        tenders.append(
            Tender(TenderMethod.STORE_CREDIT, EXCHANGE, exchange_credit, exchange_tender_id(o.id))
        )
    where = f"order {o.id}"
    taxes = {t.uid: t for t in o.taxes}
    discounts = {d.uid: d for d in o.discounts}
    lines = tuple(
        _line(li, i, taxes, discounts, currency, where) for i, li in enumerate(o.line_items)
    )
    order = Order(
        channel=channel,
        order_id=o.id,
        name=o.reference_id or o.id,
        currency=currency,
        created_at=utc(o.created_at),
        # Square also keeps an integer ``version``; the hub orders snapshots by ``updated_at``,
        # which moves with every version (and exists on POS orders, which may lack a version).
        updated_at=utc(o.updated_at),
        payment_status=_payment_status(o),
        total_price=amount(o.total_money, currency, "$.total_money"),
        lines=lines,
        taxes_included=_taxes_included(o, where),
        delivery=_delivery(o),
        gateway=SYSTEM,
        customer=Customer(ChannelIdentity(SYSTEM, o.customer_id)) if o.customer_id else None,
        location=ExternalRef(SYSTEM, o.location_id),
        cancelled_at=utc(o.updated_at) if o.state == "CANCELED" else None,
        source=SYSTEM,
        tenders=tuple(tenders),
        exchanged_from=exchanged_from,
    )
    return OrderReported(order, fulfilments=_fulfilments(o, lines, where))


def _line(
    li: p.LineItem,
    i: int,
    taxes: Mapping[str, p.Tax],
    discounts: Mapping[str, p.Discount],
    currency: str,
    where: str,
) -> OrderLine:
    path = f"$.line_items[{i}]"
    what = f"{where}: line item {li.name or li.uid!r} (uid {li.uid})"
    gift_card = li.item_type == "GIFT_CARD"
    return OrderLine(
        line_id=li.uid,  # returns point back to it as ``source_line_item_uid``
        sku=None,  # Square lines carry no SKU: the hub maps the catalog variation id to one
        title=_title(li),
        quantity=whole_quantity(li.quantity, f"{path}.quantity", what),
        unit_price=_unit_price(li, currency, path, what),
        discounts=tuple(
            _discount(a, discounts, currency, f"{path}.applied_discounts[{j}]", where)
            for j, a in enumerate(li.applied_discounts)
        ),
        tax_lines=tuple(
            _tax(a, taxes, currency, f"{path}.applied_taxes[{j}]", where)
            for j, a in enumerate(li.applied_taxes)
        ),
        variant=ExternalRef(SYSTEM, li.catalog_object_id) if li.catalog_object_id else None,
        gift_card=gift_card,
        requires_shipping=not gift_card,
    )


def _title(li: p.LineItem) -> str:
    name = li.name or li.uid
    if li.variation_name and li.variation_name != _DEFAULT_VARIATION:
        return f"{name} - {li.variation_name}"
    return name


def _unit_price(li: p.LineItem, currency: str, path: str, what: str) -> int:
    """``base_price_money`` (already minor units) plus the modifiers chosen per unit.

    Modifiers ("extra shot", "gift wrap") are priced per unit of the line and are part of what
    the customer pays for it (Square API reference, OrderLineItemModifier.base_price_money).
    """
    price = amount(li.base_price_money, currency, f"{path}.base_price_money")
    for k, m in enumerate(li.modifiers):
        if m.base_price_money is None:
            continue
        at = f"{path}.modifiers[{k}]"
        units = whole_quantity(m.quantity or "1", f"{at}.quantity", f"{what} modifier {m.name!r}")
        price += amount(m.base_price_money, currency, f"{at}.base_price_money") * units
    return price


def _discount(
    a: p.AppliedDiscount,
    discounts: Mapping[str, p.Discount],
    currency: str,
    path: str,
    where: str,
) -> DiscountAllocation:
    d = discounts.get(a.discount_uid)
    if d is None:
        raise PayloadError(
            f"{where}: discount_uid {a.discount_uid!r} at `{path}` names no entry of `$.discounts`"
        )
    return DiscountAllocation(
        amount(a.applied_money, currency, f"{path}.applied_money"), d.name or "discount"
    )


def _tax(
    a: p.AppliedTax, taxes: Mapping[str, p.Tax], currency: str, path: str, where: str
) -> TaxLine:
    t = taxes.get(a.tax_uid)
    if t is None:
        raise PayloadError(
            f"{where}: tax_uid {a.tax_uid!r} at `{path}` names no entry of `$.taxes`"
        )
    if t.percentage is None:
        raise PayloadError(f"{where}: tax {t.name or t.uid!r} has no percentage (`$.taxes`)")
    # ``percentage`` is a percent ("8.875"); the canonical rate is a fraction (0.08875).
    rate = t.percentage.scaleb(-2).normalize()
    return TaxLine(
        t.name or "tax", rate, amount(a.applied_money, currency, f"{path}.applied_money")
    )


def _taxes_included(o: p.Order, where: str) -> bool:
    """INCLUSIVE taxes are inside the prices (VAT/GST shops); ADDITIVE ones are added on top."""
    kinds = {t.type for t in o.taxes if t.type in ("ADDITIVE", "INCLUSIVE")}
    if len(kinds) > 1:
        raise PayloadError(
            f"{where} mixes ADDITIVE and INCLUSIVE taxes (`$.taxes`): the hub keeps one "
            "tax-inclusive flag per order"
        )
    return kinds == {"INCLUSIVE"}


def _payment_status(o: p.Order) -> PaymentStatus:
    if o.state == "COMPLETED":
        return PaymentStatus.PAID
    if o.state == "CANCELED":
        return PaymentStatus.VOIDED
    if any(t.card_details and t.card_details.status == "AUTHORIZED" for t in o.tenders):
        return PaymentStatus.AUTHORIZED  # delayed capture: approved, not yet captured
    due = o.net_amount_due_money
    if o.tenders and due is not None and due.amount == 0:
        return PaymentStatus.PAID
    return PaymentStatus.PENDING


def _delivery(o: p.Order) -> DeliveryMethod:
    kinds = {f.type for f in o.fulfillments}
    if kinds & _PICKUP_TYPES:
        return DeliveryMethod.PICKUP
    if kinds & _SHIP_TYPES:
        return DeliveryMethod.SHIP
    return DeliveryMethod.IN_STORE  # no fulfillments (a register sale) or IN_STORE ones


def _tender(t: p.Tender, i: int, currency: str) -> Tender:
    method, gateway = TENDERS.get(t.type, OTHER_TENDER)
    return Tender(
        method=method,
        gateway=gateway,
        amount=amount(t.amount_money, currency, f"$.tenders[{i}].amount_money"),
        transaction_id=t.payment_id or t.id,
    )


def _fulfilments(o: p.Order, lines: tuple[OrderLine, ...], where: str) -> tuple[Fulfilment, ...]:
    location = ExternalRef(SYSTEM, o.location_id)
    every_line = tuple(
        FulfilmentLine(line.line_id, line.quantity) for line in lines if line.quantity
    )
    if not o.fulfillments:
        if o.state != "COMPLETED" or not every_line:
            return ()
        return (
            Fulfilment(
                fulfilment_id=f"{o.id}:carry-out",
                order_id=o.id,
                kind=FulfilmentKind.SHIPMENT,  # the handler makes it a handover for IN_STORE sales
                location=location,
                lines=every_line,
                occurred_at=utc(o.closed_at or o.updated_at),
            ),
        )
    out = []
    for i, f in enumerate(o.fulfillments):
        if f.state != "COMPLETED":
            continue  # proposed, reserved, prepared: nothing has left yet; canceled: never will
        out.append(
            Fulfilment(
                fulfilment_id=f"{o.id}:{f.uid}",  # a uid is unique only within its order
                order_id=o.id,
                kind=FulfilmentKind.PICKUP if f.type in _PICKUP_TYPES else FulfilmentKind.SHIPMENT,
                location=location,
                lines=_fulfilled_lines(f, i, every_line, where),
                occurred_at=utc(_completed_at(f) or o.closed_at or o.updated_at),
                tracking_number=f.shipment_details.tracking_number if f.shipment_details else None,
            )
        )
    return tuple(out)


def _fulfilled_lines(
    f: p.Fulfillment, i: int, every_line: tuple[FulfilmentLine, ...], where: str
) -> tuple[FulfilmentLine, ...]:
    """``ENTRY_LIST`` names lines and quantities; otherwise (``ALL``) it covers every line."""
    if f.line_item_application != "ENTRY_LIST":
        return every_line
    quantities: dict[str, int] = {}
    for j, e in enumerate(f.entries):
        path = f"$.fulfillments[{i}].entries[{j}].quantity"
        units = whole_quantity(e.quantity, path, f"{where}: fulfillment {f.uid}")
        quantities[e.line_item_uid] = quantities.get(e.line_item_uid, 0) + units
    return tuple(FulfilmentLine(line_id, q) for line_id, q in quantities.items() if q)


def _completed_at(f: p.Fulfillment) -> datetime | None:
    if f.pickup_details and f.pickup_details.picked_up_at:
        return f.pickup_details.picked_up_at
    if f.shipment_details and f.shipment_details.shipped_at:
        return f.shipment_details.shipped_at
    if f.delivery_details and f.delivery_details.completed_at:
        return f.delivery_details.completed_at
    return None
