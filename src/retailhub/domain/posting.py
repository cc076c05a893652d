"""Posting rules: how retail facts become balanced journal entries.

The default retail rules (DESIGN.md, "Rules that make it trustworthy"):

* A captured payment debits the gateway's clearing account and credits customer deposits:
  the money is the customer's until the goods leave.
* Revenue is recognised at fulfilment or pickup (or at order, per channel): customer deposits
  are debited; sales (gross), discounts (contra-revenue, debit), shipping and sales tax per
  jurisdiction are credited. Gift-card lines credit the gift-card liability, not revenue.
* Goods leaving a location debit COGS and credit inventory at the cost snapshotted on the order.
* A refund reverses, for the units it covers, exactly what was recognised for them in the
  original sale's context (same tax lines, same discount, same cost); units never recognised
  come back out of customer deposits. The money leaves through each tender's clearing account.
  Any difference between what the rules reverse and what was actually paid back (a restocking
  fee, a goodwill top-up, a channel's rounding) goes to refund adjustments, so the entry
  always balances and the difference stays visible.

Per-unit shares use ``money.units_share`` over a running counter per order line, so however
the slices fall (two partial shipments, three partial refunds) they add up to the line's
exact amounts, and the totals do not depend on the order the facts arrived in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from retailhub.domain.accounts import ChartOfAccounts, is_gift_card
from retailhub.domain.ledger import EntryBuilder, JournalEntry, SourceRef
from retailhub.domain.money import allocate, units_share
from retailhub.domain.orders import Order, OrderLine, ShippingLine
from retailhub.domain.posting_rules import AppliedRule, PostingRule, Recognition, RuleBook, TxType
from retailhub.domain.returns import Refund

# Roles whose accounts hold money in the currency it arrived in (see ``holds_money``).
_MONEY_ROLES = frozenset({"clearing", "bank", "reserves", "payouts_in_transit", "cash_paid_in"})


@dataclass(frozen=True)
class PostingPolicy:
    """The chart of accounts, the posting rules in force, and revenue timing per channel."""

    accounts: ChartOfAccounts = field(default_factory=ChartOfAccounts)
    recognition: Mapping[str, Recognition] = field(default_factory=dict)
    default_recognition: Recognition = Recognition.AT_FULFILMENT
    book: RuleBook = field(default_factory=RuleBook)
    sale_types: Mapping[str, TxType] = field(default_factory=dict)  # channel -> its sale type
    _applied: dict[tuple[TxType, PostingRule | None, PostingRule | None], AppliedRule] = field(
        default_factory=dict, compare=False, repr=False
    )
    _holds: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def sale_type(self, channel: str, exchange: bool = False) -> TxType:
        if exchange:
            return TxType.EXCHANGE
        return self.sale_types.get(channel, TxType.WEB_SALE)

    def recognition_for(
        self, channel: str, ordered_on: date | None = None, exchange: bool = False
    ) -> Recognition:
        """When revenue is recognised for an order of ``channel`` placed on ``ordered_on``: the
        order's date decides, so an order never straddles two timings."""
        if ordered_on is not None:
            rule = self.book.rule_for(self.sale_type(channel, exchange), ordered_on, channel)
            if rule is not None and rule.recognition is not None:
                return rule.recognition
        return self.recognition.get(channel, self.default_recognition)

    def rule(
        self, tx: TxType, on: date, channel: str | None = None, over: TxType | None = None
    ) -> AppliedRule:
        """The accounts (and dimensions) in force for a ``tx`` entry dated ``on``.

        ``over`` layers the rule on another type's: a return reverses a sale in the sale's
        accounts (its tax, deposits, clearing) except where a return rule names its own.
        """
        found = self.book.rule_for(tx, on, channel)
        base = self.book.rule_for(over, on, channel) if over is not None else None
        key = (tx, found, base)
        applied = self._applied.get(key)
        if applied is None:
            accounts = self.accounts
            for layer in (base, found):
                if layer is not None and layer.accounts:
                    # A fresh memo: derived names (clearing per gateway) depend on the bases.
                    accounts = replace(accounts, _derived={}, **dict(layer.accounts))  # type: ignore[arg-type]
            applied = AppliedRule(accounts, found, self.book.version, base)
            self._applied[key] = applied
        return applied

    def holds_money(self, account: str) -> bool:
        """Money-holding accounts (clearing, bank, reserves …) of the chart or of any posting
        rule that moves them: a foreign amount on them stays foreign when restated. Memoised
        per account: restating asks for the same few accounts on every foreign entry."""
        held = self._holds.get(account)
        if held is None:
            charts = [self.accounts] + [
                replace(self.accounts, _derived={}, **dict(r.accounts))  # type: ignore[arg-type]
                for r in self.book.rules
                if set(r.accounts) & _MONEY_ROLES
            ]
            held = self._holds[account] = any(c.holds_money(account) for c in charts)
        return held

    def order_type(self, order: Order) -> TxType:
        return self.sale_type(order.channel, order.exchanged_from is not None)

    def for_order(self, order: Order, on: date) -> AppliedRule:
        return self.rule(self.order_type(order), on, order.channel)

    def gift_cards(self, tx: TxType, on: date, channel: str | None) -> str:
        """The gift-card liability as the issue, redeem or breakage rule in force names it."""
        return self.rule(tx, on, channel).accounts.gift_cards

    def tender_account(
        self, acc: ChartOfAccounts, gateway: str | None, on: date, channel: str
    ) -> str:
        """Where a tender's money is: the gateway's clearing account, or for a gift card the
        liability the redeem rule names (paying with a gift card is its redemption)."""
        if is_gift_card(gateway):
            return self.gift_cards(TxType.GIFT_CARD_REDEEM, on, channel)
        return acc.clearing_for(gateway)


@dataclass(frozen=True, slots=True)
class LineSlice:
    """``units`` of ``line``, taken after ``before`` units of the same counter were taken.

    ``from_top`` counts from the line's last unit down: cancellations of never-recognised
    units take from the top while recognition takes from the bottom, so when they meet the
    line's amounts are used up exactly.
    """

    line: OrderLine
    units: int
    before: int
    from_top: bool = False

    def share(self, amount: int) -> int:
        q = self.line.quantity
        if self.from_top:
            return units_share(amount, self.units, q, q - self.before - self.units)
        return units_share(amount, self.units, q, self.before)

    def customer_paid(self, taxes_included: bool) -> int:
        """What the customer paid for these units: price less discount, plus tax unless included."""
        tax = 0 if taxes_included else self.share(self.line.tax)
        return self.share(self.line.gross) - self.share(self.line.discount) + tax


def _credit_line_revenue(
    b: EntryBuilder,
    acc: ChartOfAccounts,
    gift_cards: str,
    s: LineSlice,
    taxes_included: bool,
    sign: int,
) -> int:
    """Credit revenue, discount and tax for a slice (sign=-1 reverses); returns customer-paid amount."""
    line = s.line
    gross = s.share(line.gross)
    discount = s.share(line.discount)
    taxes = [(t.jurisdiction, s.share(t.amount)) for t in line.tax_lines]
    tax_total = sum(a for _, a in taxes)
    revenue = gross - (tax_total if taxes_included else 0)
    # One line per account and dimension, not per SKU: the order lines are the sub-ledger.
    if line.gift_card:  # selling a gift card is issuing one: a liability, not revenue
        b.credit(gift_cards, sign * (revenue - discount))
    else:
        b.credit(acc.sales, sign * revenue, brand=line.brand)
        b.debit(acc.discounts, sign * discount, brand=line.brand)
    for jurisdiction, amount in taxes:
        b.credit(acc.sales_tax_for(jurisdiction), sign * amount)
    return gross - discount + (0 if taxes_included else tax_total)


def _credit_shipping(
    b: EntryBuilder, acc: ChartOfAccounts, lines: Sequence[ShippingLine], taxes_included: bool
) -> int:
    paid = 0
    for sl in lines:
        tax = sl.tax
        b.credit(acc.shipping, sl.price - (tax if taxes_included else 0))
        b.debit(acc.discounts, sl.discount)
        for t in sl.tax_lines:
            b.credit(acc.sales_tax_for(t.jurisdiction), t.amount)
        paid += sl.price - sl.discount + (0 if taxes_included else tax)
    return paid


def payment_capture(
    order: Order, amount: int, policy: PostingPolicy, on: date, source: SourceRef
) -> JournalEntry | None:
    """Money captured from the customer into the gateway's clearing account (``amount`` may be a delta)."""
    rule = policy.for_order(order, on)
    acc = rule.accounts
    b = EntryBuilder(order.currency, channel=order.channel)
    b.debit(policy.tender_account(acc, order.gateway, on, order.channel), amount)
    b.credit(acc.customer_deposits, amount)
    memo = f"Payment captured for order {order.name}"
    return rule.finish(b.build(on, memo, source, f"capture:{amount}"))


def revenue(
    order: Order,
    slices: Sequence[LineSlice],
    include_shipping: bool,
    location: str | None,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    rule: str = "revenue",
) -> JournalEntry | None:
    """Recognise revenue for delivered (or, at-order, ordered) units out of customer deposits."""
    applied = policy.for_order(order, on)
    acc = applied.accounts
    gift_cards = policy.gift_cards(TxType.GIFT_CARD_ISSUE, on, order.channel)
    b = EntryBuilder(order.currency, channel=order.channel, location=location)
    paid = sum(_credit_line_revenue(b, acc, gift_cards, s, order.taxes_included, 1) for s in slices)
    if include_shipping:
        paid += _credit_shipping(b, acc, order.shipping_lines, order.taxes_included)
    b.debit(acc.customer_deposits, paid)
    return applied.finish(b.build(on, f"Revenue recognised for order {order.name}", source, rule))


@dataclass(frozen=True, slots=True)
class CostLine:
    sku: str
    units: int
    unit_cost: int
    location: str


def cost_of_sales(
    currency: str,
    channel: str,
    lines: Sequence[CostLine],
    on: date,
    source: SourceRef,
    policy: PostingPolicy,
    reverse: bool = False,
    sale: TxType | None = None,
) -> JournalEntry | None:
    """Goods out at cost: Dr COGS, Cr inventory (reversed for units restocked on return).

    ``sale`` is the order's sale type when known (an exchange's replacement), else the
    channel's; a reversal follows the return rule layered over it."""
    sale = sale or policy.sale_type(channel)
    returned = (TxType.RETURN, sale) if reverse else (sale, None)
    rule = policy.rule(returned[0], on, channel, over=returned[1])
    acc = rule.accounts
    b = EntryBuilder(currency, channel=channel)
    for c in lines:
        value = c.units * c.unit_cost
        if reverse:
            b.debit(acc.inventory, value, location=c.location)
            b.credit(acc.cogs, value, location=c.location)
        else:
            b.debit(acc.cogs, value, location=c.location)
            b.credit(acc.inventory, value, location=c.location)
    memo = "Cost of goods returned to stock" if reverse else "Cost of goods sold"
    return rule.finish(b.build(on, memo, source, "cogs-reversal" if reverse else "cogs"))


@dataclass(frozen=True, slots=True)
class RefundContext:
    """How a refund's units fall: reversing recognised revenue or returning unrecognised deposits."""

    reversed_slices: tuple[LineSlice, ...]
    deposit_slices: tuple[LineSlice, ...]
    shipping_recognised: bool
    location: str | None


def refund(
    order: Order, r: Refund, ctx: RefundContext, policy: PostingPolicy, on: date, source: SourceRef
) -> JournalEntry | None:
    """The refund in the original sale's context; see the module docstring for the rule."""
    rule = policy.rule(TxType.RETURN, on, order.channel, over=policy.order_type(order))
    acc = rule.accounts
    gift_cards = policy.gift_cards(TxType.GIFT_CARD_ISSUE, on, order.channel)
    b = EntryBuilder(order.currency, channel=order.channel, location=ctx.location)
    owed = 0
    for s in ctx.reversed_slices:
        owed += _credit_line_revenue(b, acc, gift_cards, s, order.taxes_included, -1)
    for s in ctx.deposit_slices:
        paid = s.customer_paid(order.taxes_included)
        b.debit(acc.customer_deposits, paid)
        owed += paid
    owed += _debit_shipping_refund(b, acc, order, r, ctx.shipping_recognised)
    for tender in r.tenders:
        account = policy.tender_account(acc, tender.gateway, on, order.channel)
        b.credit(account, tender.amount, tender.method.value)
    b.credit(acc.refund_adjustments, owed - r.refunded_to_customer)
    memo = f"Refund {r.refund_id} on order {order.name}"
    return rule.finish(b.build(on, memo, source, "refund"))


def _debit_shipping_refund(
    b: EntryBuilder, acc: ChartOfAccounts, order: Order, r: Refund, recognised: bool
) -> int:
    if not (r.shipping or r.shipping_tax):
        return 0
    if not recognised:  # shipping and its tax are still sitting in customer deposits
        b.debit(acc.customer_deposits, r.shipping + r.shipping_tax, "shipping refund")
        return r.shipping + r.shipping_tax
    b.debit(acc.shipping, r.shipping, "shipping refund")
    # Shipping tax goes back to the jurisdictions that charged it, in their original proportions.
    jurisdictions = [t for sl in order.shipping_lines for t in sl.tax_lines]
    if jurisdictions:
        parts = allocate(r.shipping_tax, [t.amount for t in jurisdictions])
        for t, part in zip(jurisdictions, parts, strict=True):
            b.debit(acc.sales_tax_for(t.jurisdiction), part)
    else:
        b.debit(acc.refund_adjustments, r.shipping_tax, "shipping tax without original tax line")
    return r.shipping + r.shipping_tax
