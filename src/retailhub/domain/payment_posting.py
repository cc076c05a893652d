"""Posting rules for money on its way to the bank: tenders, chargebacks, drawers.

* A sale paid with several tenders debits each tender's clearing account (cash to the cash
  clearing account, a gift card to the gift-card liability: that is the redemption).
* A gift-card redemption also recognises breakage by the proportional method when a
  breakage rate is configured: for each unit of value redeemed, rate / (1 − rate) of a unit of
  the value expected never to be redeemed is released from the liability to income.
* A chargeback moves the disputed amount out of the gateway's clearing account to chargeback
  expense (a won dispute reverses it).
* Settlements (payouts into the bank) are posted by ``settlement_posting``.
* Cash paid in or out of a drawer moves between the cash clearing account and the safe or
  petty-cash expense; the end-of-day count books any over/short.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from retailhub.domain.ledger import EntryBuilder, JournalEntry, SourceRef
from retailhub.domain.money import scale
from retailhub.domain.payments import ExpectedReceipt, PaymentKind, Tender
from retailhub.domain.posting import CostLine, PostingPolicy, cost_of_sales
from retailhub.domain.posting_rules import TxType
from retailhub.domain.returns import RefundTender

CASH = "cash"


def tender_capture(
    currency: str,
    channel: str,
    location: str | None,
    tenders: Sequence[Tender],
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    name: str,
    sale: TxType | None = None,
) -> JournalEntry | None:
    """Money taken for a sale, tender by tender, into customer deposits (``sale``: the order's
    sale type when known, e.g. an exchange's replacement; else the channel's)."""
    rule = policy.rule(sale or policy.sale_type(channel), on, channel)
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel, location=location)
    for t in tenders:
        b.debit(policy.tender_account(acc, t.gateway, on, channel), t.amount, t.method.value)
    b.credit(acc.customer_deposits, sum(t.amount for t in tenders))
    total = sum(t.amount for t in tenders)
    memo = f"Payment captured for order {name}"
    return rule.finish(b.build(on, memo, source, f"capture:{total}"))


def breakage(
    currency: str,
    channel: str,
    redeemed: int,
    rate: Decimal,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
) -> JournalEntry | None:
    """Proportional breakage on a redemption: ``redeemed × rate / (1 − rate)`` to income."""
    if rate <= 0 or redeemed <= 0:
        return None
    amount = scale(redeemed, rate / (1 - rate))
    rule = policy.rule(TxType.GIFT_CARD_BREAKAGE, on, channel)
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel)
    b.debit(acc.gift_cards, amount)
    b.credit(acc.gift_card_breakage, amount)
    memo = "Gift card breakage (proportional method)"
    return rule.finish(b.build(on, memo, source, f"breakage:{redeemed}"))


def chargeback(
    receipt: ExpectedReceipt, policy: PostingPolicy, on: date, source: SourceRef
) -> JournalEntry | None:
    """A dispute opened (money out of clearing to expense) or won (the reverse)."""
    rule = policy.rule(TxType.CHARGEBACK, on)
    acc = rule.accounts
    b = EntryBuilder(receipt.currency)
    lost = -receipt.amount  # a chargeback is negative, a reversal positive
    b.debit(acc.chargebacks, lost, receipt.transaction_id)
    b.credit(acc.clearing_for(receipt.gateway), lost)
    won = receipt.kind is PaymentKind.CHARGEBACK_REVERSAL
    memo = f"{'Chargeback reversed' if won else 'Chargeback'} {receipt.transaction_id or ''}"
    return rule.finish(b.build(on, memo.strip(), source, receipt.kind.value))


def cash_movement(
    currency: str,
    channel: str,
    location: str,
    amount: int,
    reason: str,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
) -> JournalEntry | None:
    """Paid in (+): from the safe into the drawer. Paid out (−): drawer cash spent."""
    rule = policy.rule(TxType.CASH, on, channel)
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel, location=location)
    b.debit(acc.clearing_for(CASH), amount, reason)
    if amount > 0:
        b.credit(acc.cash_paid_in, amount, reason)
    else:
        b.credit(acc.cash_paid_out, amount, reason)
    kind = "paid in" if amount > 0 else "paid out"
    return rule.finish(b.build(on, f"Cash {kind}: {reason}", source, "cash-movement"))


def over_short(
    currency: str,
    channel: str,
    location: str,
    difference: int,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
) -> JournalEntry | None:
    """Counted less expected: over (+) adds to the drawer's cash, short (−) is an expense."""
    rule = policy.rule(TxType.CASH, on, channel)
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel, location=location)
    b.debit(acc.clearing_for(CASH), difference)
    b.credit(acc.cash_over_short, difference)
    word = "over" if difference > 0 else "short"
    return rule.finish(b.build(on, f"Cash {word} at end of day", source, "over-short"))


def unlinked_return(
    currency: str,
    channel: str,
    location: str,
    refunded_goods: int,
    taxes: Sequence[tuple[str, int]],
    tenders: Sequence[RefundTender],
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    name: str,
) -> JournalEntry | None:
    """A return with no original sale: revenue and tax reversed at the register's prices."""
    rule = policy.rule(TxType.RETURN, on, channel, over=policy.sale_type(channel))
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel, location=location)
    b.debit(acc.sales, refunded_goods)
    owed = refunded_goods
    for jurisdiction, amount in taxes:
        b.debit(acc.sales_tax_for(jurisdiction), amount)
        owed += amount
    paid = 0
    for t in tenders:
        b.credit(policy.tender_account(acc, t.gateway, on, channel), t.amount, t.method.value)
        paid += t.amount
    b.credit(acc.refund_adjustments, owed - paid)
    memo = f"Return {name} without original sale"
    return rule.finish(b.build(on, memo, source, "unlinked-return"))


def restock_cost(
    currency: str,
    channel: str,
    lines: Sequence[CostLine],
    on: date,
    source: SourceRef,
    policy: PostingPolicy,
) -> JournalEntry | None:
    return cost_of_sales(currency, channel, lines, on, source, policy, reverse=True)
