"""POS batch records → canonical events, and the POS feed as an inbox source.

Each stored body is one record of the feed documented in ``docs/pos-feed.md``, in the canonical
form ``records.canonical_body`` wrote. Ids are built from the store's receipt numbers, which
are unique per store: the sale on receipt 1001 at SPR01 is order ``SPR01:1001`` of system
``pos``, a return on receipt 1004 is refund ``SPR01:1004``, and a register's own events (voids,
cash movements, counts) are ``STORE:REGISTER:SEQ``. Timestamps keep the register's offset.

An exchange is one record carrying a return and a sale. It becomes ``EventsReported`` with
the return first, so the sale part can name it in ``exchanged_from``. The returned goods are
paid out as store credit through the ``exchange`` gateway and the sale takes the same credit
in, so that gateway nets to zero; only the difference moves real money::

    credit = min(returned value, sold value)
    return part: exchange credit + what the customer got back (negative record tenders)
    sale part:   exchange credit + what the customer paid      (positive record tenders)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

import msgspec

from retailhub.adapters.connectors.pos import shapes as s
from retailhub.adapters.connectors.pos.records import (
    RecordError,
    decode_body,
    minor,
    returned_total,
    sold_total,
)
from retailhub.domain.events import (
    CashMovementReported,
    DrawerCounted,
    EventsReported,
    InboundEvent,
    OrderReported,
    RefundReported,
    ReturnedItem,
    SaleVoided,
    UnlinkedReturnReported,
)
from retailhub.domain.money import allocate
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
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod, RefundTender

SYSTEM = "pos"
EXCHANGE_GATEWAY = "exchange"
DISCOUNT_TITLE = "register discount"  # the feed carries a line's discount total, not its name

# Card and wallet refunds go back to the card the sale was paid with; the others are named.
_REFUND_METHODS: Mapping[str, RefundMethod] = {
    "card": RefundMethod.ORIGINAL_TENDER,
    "wallet": RefundMethod.ORIGINAL_TENDER,
    "cash": RefundMethod.CASH,
    "gift_card": RefundMethod.GIFT_CARD,
    "store_credit": RefundMethod.STORE_CREDIT,
}
_DISPOSITIONS: Mapping[str, Disposition] = {
    "restock": Disposition.RESTOCK,
    "damaged": Disposition.DAMAGED,
    "quarantine": Disposition.QUARANTINE,
}


class _Key(msgspec.Struct):
    """Just enough of a body to name it; other fields are ignored (msgspec's default)."""

    type: str
    store: str
    register: str
    seq: int


class PosFeedSource:
    """The store POS batch feed as an inbox source.

    ``verify`` always passes: batch files are imported by an operator from the register's
    export, not pushed to us over the internet, so there is no signature to check; the file
    reader's strict checks are the gate. Dedup is by ``STORE:REGISTER:SEQ``, which a register
    never reuses, so a re-imported file adds nothing.
    """

    name = SYSTEM

    def __init__(
        self, card_gateway: str = "card", accept_unlinked_returns: bool = True, channel: str = "pos"
    ) -> None:
        self.card_gateway = card_gateway
        self.accept_unlinked_returns = accept_unlinked_returns
        self.channel = channel

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        return True

    def event_id(self, headers: Mapping[str, str], body: bytes) -> str:
        key = _key(body)
        if key is None:  # translate will report it; hash so a redelivery still dedups
            return f"sha256:{hashlib.sha256(body).hexdigest()}"
        return f"{key.store}:{key.register}:{key.seq}"

    def topic(self, headers: Mapping[str, str], body: bytes = b"") -> str:
        key = _key(body)
        return key.type if key is not None else ""

    def translate(self, topic: str, body: bytes) -> InboundEvent | Problem:
        try:
            record = decode_body(body)
        except RecordError as exc:
            return Problem(ProblemType.INVALID_PAYLOAD, f"pos {topic or '?'} record: {exc}")
        if s.record_type(record) != topic:
            return Problem(
                ProblemType.INVALID_PAYLOAD,
                f"pos record {_name(record)} is a {s.record_type(record)}, "
                f"but was stored as {topic!r}",
            )
        return Translation(self).record(record)


def _key(body: bytes) -> _Key | None:
    try:
        return msgspec.json.decode(body, type=_Key)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _name(r: s.Record) -> str:
    return f"{r.store}:{r.register}:{r.seq}"


class Translation:
    """The mapping of one record, with the source's settings at hand."""

    def __init__(self, source: PosFeedSource) -> None:
        self.source = source

    def record(self, r: s.AnyRecord) -> InboundEvent | Problem:
        if isinstance(r, s.Sale):
            return self.sale(r, r.lines, self.tenders(r, r.tenders), r.taxes_included)
        if isinstance(r, s.Return):
            return self.returned(r, r.original, r.lines, self.refund_tenders(r, r.tenders))
        if isinstance(r, s.Exchange):
            return self.exchange(r)
        if isinstance(r, s.Void):
            return SaleVoided(SYSTEM, f"{r.store}:{r.voids}", _name(r), _when(r))
        if isinstance(r, s.PaidIn | s.PaidOut):
            amount = minor(r.amount, r.currency, "$.amount")
            return CashMovementReported(
                location=ExternalRef(SYSTEM, r.store),
                register=r.register,
                movement_id=_name(r),
                amount=amount if isinstance(r, s.PaidIn) else -amount,
                currency=r.currency,
                reason=r.reason,
                occurred_at=_when(r),
            )
        return DrawerCounted(
            location=ExternalRef(SYSTEM, r.store),
            register=r.register,
            count_id=_name(r),
            counted=minor(r.counted_cash, r.currency, "$.counted_cash"),
            opening_float=minor(r.opening_float, r.currency, "$.opening_float"),
            currency=r.currency,
            business_day=date.fromisoformat(r.business_day),
            occurred_at=_when(r),
        )

    # -- sales ------------------------------------------------------------------------------

    def sale(
        self,
        r: s.Record,
        lines: Sequence[s.SaleLine],
        tenders: tuple[Tender, ...],
        taxes_included: bool,
        exchanged_from: str | None = None,
    ) -> OrderReported:
        order_id = f"{r.store}:{r.receipt}"
        location = ExternalRef(SYSTEM, r.store)
        when = _when(r)
        order = Order(
            channel=self.source.channel,
            order_id=order_id,
            name=str(r.receipt),
            currency=r.currency,
            created_at=when,
            updated_at=when,
            payment_status=PaymentStatus.PAID,
            total_price=sold_total(lines, r.currency, taxes_included),
            lines=tuple(_order_line(line, r.currency) for line in lines),
            taxes_included=taxes_included,
            delivery=DeliveryMethod.IN_STORE,
            gateway=next((t.gateway for t in tenders if t.method is not TenderMethod.CASH), "cash"),
            location=location,
            source=SYSTEM,
            tenders=tenders,
            exchanged_from=exchanged_from,
            register=r.register,  # its cash goes into this register's drawer
        )
        # The customer carries the goods out at the till: one fulfilment of every line, then.
        carry_out = Fulfilment(
            fulfilment_id=f"{order_id}:carry-out",
            order_id=order_id,
            kind=FulfilmentKind.SHIPMENT,
            location=location,
            lines=tuple(FulfilmentLine(line.line, line.quantity) for line in lines),
            occurred_at=when,
        )
        return OrderReported(order, fulfilments=(carry_out,))

    def tenders(self, r: s.Record, tenders: Sequence[s.TenderIn]) -> tuple[Tender, ...]:
        return tuple(
            Tender(
                method=TenderMethod(t.method),
                gateway=self.gateway(t),
                amount=minor(t.amount, r.currency, "$", signed=True),
                transaction_id=t.transaction_id,
                gift_card=t.gift_card,
            )
            for t in tenders
        )

    def gateway(self, t: s.TenderIn) -> str:
        if t.gateway is not None:
            return t.gateway
        return self.source.card_gateway if t.method in ("card", "wallet") else t.method

    # -- returns ----------------------------------------------------------------------------

    def returned(
        self,
        r: s.Record,
        original: str | None,
        lines: Sequence[s.ReturnLine],
        tenders: tuple[RefundTender, ...],
        exchange_id: str | None = None,
    ) -> RefundReported | UnlinkedReturnReported | Problem:
        return_id = exchange_id or f"{r.store}:{r.receipt}"
        if original is not None:
            orig_store, _, orig_receipt = original.rpartition(":")
            refund = Refund(
                refund_id=return_id,
                order_id=f"{orig_store or r.store}:{orig_receipt}",
                occurred_at=_when(r),
                lines=tuple(_refund_line(line, r) for line in lines),
                tenders=tenders,
                note="exchange" if exchange_id else None,
                register=r.register,  # its cash comes out of this drawer, not the sale's
            )
            return RefundReported(SYSTEM, refund)
        if not self.source.accept_unlinked_returns:
            return Problem(
                ProblemType.UNLINKED_RETURN,
                f"return {r.receipt} at store {r.store} (register {r.register}, seq {r.seq}) "
                "names no original sale, and unlinked returns are not accepted; add the "
                "original receipt to the record, or accept unlinked returns for this feed",
                subject=f"return:{SYSTEM}:{return_id}",
                amount=returned_total(lines, r.currency),
            )
        return UnlinkedReturnReported(
            channel=self.source.channel,
            return_id=return_id,
            location=ExternalRef(SYSTEM, r.store),
            register=r.register,
            currency=r.currency,
            occurred_at=_when(r),
            items=tuple(item for line in lines for item in _returned_items(line, r.currency)),
            tenders=tenders,
        )

    def refund_tenders(
        self, r: s.Record, tenders: Sequence[s.TenderIn]
    ) -> tuple[RefundTender, ...]:
        # The gateway's own id when the register has it (what the settlement will show);
        # otherwise one made from the receipt and the tender's position (1-based).
        return tuple(
            RefundTender(
                transaction_id=t.transaction_id or f"{r.store}:{r.receipt}:{i}",
                gateway=self.gateway(t),
                amount=abs(minor(t.amount, r.currency, "$", signed=True)),
                method=_REFUND_METHODS[t.method],
            )
            for i, t in enumerate(tenders, 1)
        )

    # -- exchanges --------------------------------------------------------------------------

    def exchange(self, r: s.Exchange) -> EventsReported | Problem:
        credit = min(
            returned_total(r.returned, r.currency),
            sold_total(r.sold, r.currency, r.taxes_included),
        )
        credit_id = f"{r.store}:{r.receipt}:exchange"
        paid = [t for t in r.tenders if not t.amount.startswith("-")]
        refunded = [t for t in r.tenders if t.amount.startswith("-")]
        return_tenders = self.refund_tenders(r, refunded)
        sale_tenders = self.tenders(r, paid)
        if credit:
            return_tenders = (
                RefundTender(credit_id, EXCHANGE_GATEWAY, credit, RefundMethod.STORE_CREDIT),
                *return_tenders,
            )
            sale_tenders = (
                Tender(TenderMethod.STORE_CREDIT, EXCHANGE_GATEWAY, credit, credit_id),
                *sale_tenders,
            )
        return_id = f"{r.store}:{r.receipt}:return"
        returned = self.returned(r, r.original, r.returned, return_tenders, return_id)
        if isinstance(returned, Problem):
            return returned
        sold = self.sale(r, r.sold, sale_tenders, r.taxes_included, exchanged_from=return_id)
        return EventsReported((returned, sold))


def _when(r: s.Record) -> datetime:
    return datetime.fromisoformat(r.timestamp)


def _taxes(taxes: Sequence[s.Tax], currency: str) -> tuple[TaxLine, ...]:
    return tuple(
        TaxLine(t.jurisdiction, Decimal(t.rate), minor(t.amount, currency, "$")) for t in taxes
    )


def _order_line(line: s.SaleLine, currency: str) -> OrderLine:
    discount = minor(line.discount, currency, "$") if line.discount else 0
    return OrderLine(
        line_id=line.line,
        sku=line.sku,
        title=line.sku,  # the feed names items by SKU only; the catalog has the title
        quantity=line.quantity,
        unit_price=minor(line.unit_price, currency, "$"),
        discounts=(DiscountAllocation(discount, DISCOUNT_TITLE),) if discount else (),
        tax_lines=_taxes(line.taxes, currency),
    )


def _refund_line(line: s.ReturnLine, r: s.Record) -> RefundLine:
    return RefundLine(
        line_id=str(line.line),
        quantity=line.quantity,
        disposition=_DISPOSITIONS[line.disposition],
        location=ExternalRef(SYSTEM, r.store),  # received where it was returned
        subtotal=minor(line.amount, r.currency, "$"),
        tax=sum(minor(t.amount, r.currency, "$") for t in line.taxes),
    )


def _returned_items(line: s.ReturnLine, currency: str) -> list[ReturnedItem]:
    """An unlinked return line as items priced per unit.

    ``ReturnedItem`` carries a unit price but the feed carries the line's total, which need not
    divide by the quantity (3 for 10.00). The line then becomes two items, the units at the
    lower price and the ones carrying the leftover cents, and each tax is split by units, so
    both add up to the line exactly. An item's tax lines are its total, as on an order line.
    """
    amount = minor(line.amount, currency, "$")
    base, extra = divmod(amount, line.quantity)
    groups = [(n, price) for n, price in ((line.quantity - extra, base), (extra, base + 1)) if n]
    taxes = _taxes(line.taxes, currency)
    shares = [allocate(t.amount, [n for n, _ in groups]) for t in taxes]
    return [
        ReturnedItem(
            sku=str(line.sku),
            quantity=n,
            unit_price=price,
            tax_lines=tuple(
                TaxLine(t.jurisdiction, t.rate, share[g])
                for t, share in zip(taxes, shares, strict=True)
            ),
            disposition=_DISPOSITIONS[line.disposition],
        )
        for g, (n, price) in enumerate(groups)
    ]
