"""A Square return order → canonical refunds against the original sale's lines.

Square never edits a sale to record a return: it creates a separate *return order* whose
``returns[]`` point back at the sale (``source_order_id``, and per line ``source_line_item_uid``)
and whose ``refunds[]`` say how money went back (developer.squareup.com/docs/orders-api/
order-returns-exchanges; blog "Everything is an Order"). An exchange is one order holding both a
return and new line items. A refund names the refunded tender (``tender_id``) and the sale it
belongs to (``transaction_id``), so the tender's type — cash, card, gift card — is read from
whichever order holds that tender.
"""

from __future__ import annotations

from collections.abc import Mapping

from retailhub.adapters.connectors.square import payloads as p
from retailhub.adapters.connectors.square.errors import UnlinkedReturn
from retailhub.adapters.connectors.square.values import (
    EXCHANGE,
    NO_SALE,
    OTHER_TENDER,
    REFUND_METHODS,
    SYSTEM,
    TENDERS,
    amount,
    exchange_tender_id,
    optional_amount,
    utc,
    whole_quantity,
)
from retailhub.domain.orders import ExternalRef
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod, RefundTender

# Refunds in these states moved no money (Square API reference, RefundStatus).
_FAILED = frozenset({"REJECTED", "FAILED"})


def unknown_refund_tenders(o: p.Order) -> set[str]:
    """Tender ids refunded by ``o`` that ``o`` itself does not hold (they are on the sale)."""
    own = {t.id for t in o.tenders}
    return {r.tender_id for r in o.refunds if r.tender_id and r.tender_id not in own}


def exchange_credit(o: p.Order, currency: str) -> int:
    """What the returned goods paid towards the order's own new lines (an exchange), if any.

    Square shows it nowhere as a number: the new sale's total is paid partly by the tenders and
    partly by the return, so the credit is the total less the tenders and what is still due,
    and never more than the returned goods were worth.
    """
    if not (o.returns and o.line_items):
        return 0
    paid = sum(
        amount(t.amount_money, currency, f"$.tenders[{i}].amount_money")
        for i, t in enumerate(o.tenders)
        if t.type != NO_SALE
    )
    due = optional_amount(o.net_amount_due_money, currency, "$.net_amount_due_money")
    returned = sum(
        _returned_value(rli, currency, f"$.returns[{i}].return_line_items[{j}]")
        for i, ret in enumerate(o.returns)
        for j, rli in enumerate(ret.return_line_items)
    )
    total = amount(o.total_money, currency, "$.total_money")
    return max(0, min(total - paid - due, returned))


def refunds(
    o: p.Order, currency: str, tender_types: Mapping[str, str], credit: int = 0
) -> list[Refund]:
    """One ``Refund`` per ``returns[]`` entry; ``tender_types`` maps tender id → Tender.type.

    ``credit`` (see ``exchange_credit``) is money the customer took as new goods rather than
    back: it goes back through an ``exchange`` store-credit tender that the new sale spends.
    """
    types = {**tender_types, **{t.id: t.type for t in o.tenders}}
    by_sale: dict[str | None, list[RefundTender]] = {}
    if credit:
        spent = RefundTender(exchange_tender_id(o.id), EXCHANGE, credit, RefundMethod.STORE_CREDIT)
        by_sale[None] = [spent]
    for i, r in enumerate(o.refunds):
        if r.status not in _FAILED:
            by_sale.setdefault(r.transaction_id, []).append(_tender(r, i, currency, types))
    location = ExternalRef(SYSTEM, o.location_id)
    out = []
    for i, ret in enumerate(o.returns):
        source = ret.source_order_id
        if not source:
            raise UnlinkedReturn(
                f"order {o.id} returns items without naming the original sale "
                f"(`$.returns[{i}].source_order_id` is unset): an unlinked return"
            )
        # A refund belongs to the return whose sale holds the refunded tender; refunds that
        # name no sale go with the first return so no money is lost or counted twice.
        tenders = by_sale.pop(source, [])
        if i == 0:
            tenders += by_sale.pop(None, [])
        lines = tuple(
            line
            for j, rli in enumerate(ret.return_line_items)
            if (line := _line(rli, f"$.returns[{i}].return_line_items[{j}]", o, currency, location))
        )
        out.append(
            Refund(
                refund_id=f"{o.id}:{ret.uid or i}",
                order_id=source,
                occurred_at=utc(o.closed_at or o.created_at),
                lines=lines,
                tenders=tuple(tenders),
                note=next((r.reason for r in o.refunds if r.reason), None),
                return_id=ret.uid,
            )
        )
    return out


def _line(
    rli: p.ReturnLineItem, path: str, o: p.Order, currency: str, location: ExternalRef
) -> RefundLine | None:
    if rli.source_line_item_uid is None:
        # A custom-amount refund ("CUSTOM_AMOUNT", no catalog line): money back, no goods.
        # The refund's tenders still carry the money; there is no original line to reverse.
        return None
    what = f"order {o.id}: return of {rli.name or rli.source_line_item_uid!r}"
    quantity = whole_quantity(rli.quantity, f"{path}.quantity", what)
    if rli.gross_return_money is not None:
        gross = amount(rli.gross_return_money, currency, f"{path}.gross_return_money")
    else:
        gross = optional_amount(rli.base_price_money, currency, f"{path}.base_price_money")
        gross *= quantity
    discount = optional_amount(rli.total_discount_money, currency, f"{path}.total_discount_money")
    return RefundLine(
        line_id=rli.source_line_item_uid,
        quantity=quantity,
        # OrderReturnLineItem has no restock flag (Square API reference): a restock shows only
        # as an Inventory API adjustment, so a return is taken as back on the shelf.
        disposition=Disposition.RESTOCK,
        location=location,
        subtotal=gross - discount,
        tax=optional_amount(rli.total_tax_money, currency, f"{path}.total_tax_money"),
    )


def _returned_value(rli: p.ReturnLineItem, currency: str, path: str) -> int:
    if rli.total_money is not None:
        return amount(rli.total_money, currency, f"{path}.total_money")
    gross = optional_amount(rli.gross_return_money, currency, f"{path}.gross_return_money")
    discount = optional_amount(rli.total_discount_money, currency, f"{path}.total_discount_money")
    tax = optional_amount(rli.total_tax_money, currency, f"{path}.total_tax_money")
    return gross - discount + tax


def _tender(r: p.OrderRefund, i: int, currency: str, types: Mapping[str, str]) -> RefundTender:
    kind = types.get(r.tender_id or "")
    gateway = TENDERS.get(kind, OTHER_TENDER)[1] if kind else SYSTEM
    return RefundTender(
        transaction_id=r.id,
        gateway=gateway,
        amount=amount(r.amount_money, currency, f"$.refunds[{i}].amount_money"),
        method=REFUND_METHODS.get(kind or "", RefundMethod.ORIGINAL_TENDER),
    )
