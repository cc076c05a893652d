"""Settlements: a payout stored once per (gateway, id) and posted, period by period, in the
functional currency (``domain/settlement_posting.py``).

A gateway that converted a payment into the payout currency says what the customer paid
(Stripe's customer-facing amount, Shopify Payments' presentment amount). Whether that original
amount is what leaves the clearing account depends on how the hub booked the payment: a charge
the hub captured in EUR clears in EUR (and the exchange difference is realised), while a
Shopify order is booked in shop money, so its payout line clears in the shop currency whatever
the customer's presentment currency was. The hub's own expected receipt for the payment (found
by the gateway's transaction id, else by order) tells which; a line whose payment the hub never
saw clears in the settlement currency, as before multi-currency.
"""

from __future__ import annotations

from dataclasses import replace

from retailhub.domain import settlement_posting
from retailhub.domain.events import SettlementReported
from retailhub.domain.fx import FxRates, RateMissing
from retailhub.domain.payments import PaymentKind
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine
from retailhub.services.handlers.context import ApplyContext


def settlement_reported(event: SettlementReported, ctx: ApplyContext) -> None:
    """A payout fetched from a gateway's API: stored once and posted to the bank."""
    record_settlement(event.settlement, "api", ctx)


def record_settlement(s: Settlement, origin: str, ctx: ApplyContext) -> bool:
    """Store a settlement once per (gateway, id) and post it; ``False`` if already there.

    A rate the posting needs and the rates file lacks blocks it (``fx_rate_missing``).
    """
    if ctx.uow.settlements.exists(s.gateway, s.settlement_id):
        return False
    ctx.uow.settlements.add(s, origin, ctx.now)
    on = s.deposit_date or ctx.day(max(line.occurred_at for line in s.lines))
    posted = cleared_as_booked(s, ctx)
    rates: FxRates | None = None
    if ctx.rules.fx is not None and any(line.converted for line in posted.lines):
        rates = ctx.fx_rates()
    source = ctx.source("settlement", f"{s.gateway}:{s.settlement_id}")
    try:
        entries = settlement_posting.settlement_entries(
            posted, ctx.rules.posting, on, source, ctx.rules.timezone, rates
        )
    except RateMissing as missing:
        what = f"Settlement {s.gateway} {s.settlement_id}"
        raise ctx.rate_missing(missing, what, abs(s.total)) from None
    for entry in entries:
        ctx.post(entry)
    return True


def cleared_as_booked(s: Settlement, ctx: ApplyContext) -> Settlement:
    """``s`` with each converted line's original amount kept only where the hub booked that
    payment in the original currency (module docstring); the rest clear as paid out."""
    if not any(line.converted for line in s.lines):
        return s
    lines = tuple(
        line
        if ctx.rules.fx is not None and _booked_in_original(s.gateway, line, ctx)
        else replace(line, original_amount=None, original_currency=None)
        for line in s.lines
    )
    return replace(s, lines=lines)


def _booked_in_original(gateway: str, line: SettlementLine, ctx: ApplyContext) -> bool:
    if not (line.converted and line.matchable):
        return False
    payments = ctx.uow.payments
    if line.transaction_id:
        found = payments.find(gateway, line.transaction_id)
        if found is not None:
            return found.receipt.currency == line.original_currency
    if line.order_ref:
        kind = PaymentKind.CAPTURE if line.kind is LineKind.CHARGE else PaymentKind(line.kind)
        for stored in payments.for_order(gateway, line.order_ref, kind):
            return stored.receipt.currency == line.original_currency
    return False
