"""Money arithmetic and posting rules, without a database: every entry balances, shares add up."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailhub.domain import posting
from retailhub.domain.ledger import (
    JournalEntry,
    JournalLine,
    SourceRef,
    UnbalancedEntry,
    reverse,
    trial_balance,
)
from retailhub.domain.money import Money, MoneyError, allocate, to_minor, units_share
from retailhub.domain.orders import (
    DiscountAllocation,
    Order,
    OrderLine,
    PaymentStatus,
    ShippingLine,
    TaxLine,
)
from retailhub.domain.posting import LineSlice, PostingPolicy, RefundContext
from retailhub.domain.returns import Disposition, Refund, RefundLine, RefundMethod, RefundTender

NOW = datetime(2026, 11, 20, tzinfo=UTC)
SRC = SourceRef("test", "1")


def test_money_is_exact_minor_units():
    assert to_minor("409.94", "USD") == 40994
    assert to_minor(Decimal("143.97"), "USD") == 14397
    assert to_minor("1200", "JPY") == 1200
    assert to_minor("1.2345", "KWD") == 1235
    assert str(Money.of("12.5", "usd")) == "12.50 USD"
    with pytest.raises(MoneyError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money.of("1", "USD") + Money.of("1", "EUR")


@given(st.integers(-10**9, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=12))
def test_allocate_sums_exactly(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total and len(parts) == len(weights)


@given(st.integers(0, 10**7), st.integers(1, 50), st.data())
def test_unit_slices_add_up_whatever_the_slicing(amount, quantity, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, quantity), max_size=6)))
    bounds = [0, *cuts, quantity]
    shares = [units_share(amount, b - a, quantity, a) for a, b in itertools.pairwise(bounds)]
    assert sum(shares) == amount


def test_an_unbalanced_entry_cannot_exist_and_a_reversal_nets_to_zero():
    with pytest.raises(UnbalancedEntry):
        JournalEntry(date(2026, 1, 1), "bad", SRC,
                     (JournalLine("Assets:Bank", 100, "USD"),
                      JournalLine("Income:Sales", -99, "USD")), "r")
    entry = JournalEntry(date(2026, 1, 1), "sale", SRC,
                         (JournalLine("Assets:Bank", 100, "USD"),
                          JournalLine("Income:Sales", -100, "USD")), "r")
    assert set(trial_balance([entry, reverse(entry, date(2026, 1, 2), "typo")]).values()) == {0}


rates = st.lists(st.tuples(st.sampled_from(["State", "County", "City"]),
                           st.integers(0, 1500)), max_size=3, unique_by=lambda t: t[0])


@st.composite
def orders(draw) -> Order:
    lines = []
    for i in range(draw(st.integers(1, 4))):
        qty = draw(st.integers(1, 5))
        price = draw(st.integers(0, 50_000))
        discount = draw(st.integers(0, price * qty))
        taxes = tuple(TaxLine(name, Decimal(bp) / 10_000, (price * qty - discount) * bp // 10_000)
                      for name, bp in draw(rates))
        lines.append(OrderLine(str(i), f"SKU{i}", "item", qty, price,
                               (DiscountAllocation(discount, "promo"),), taxes,
                               gift_card=draw(st.booleans())))
    shipping = (ShippingLine("s", "Standard", draw(st.integers(0, 2000)),
                             tax_lines=(TaxLine("State", Decimal("0.05"), 30),)),)
    total = sum(line.gross - line.discount + line.tax for line in lines) + 2000
    return Order("web", "1", "#1", "USD", NOW, NOW, PaymentStatus.PAID, total, tuple(lines),
                 shipping, taxes_included=draw(st.booleans()))


@given(orders(), st.data())
def test_every_posting_rule_produces_balanced_entries(order, data):
    policy = PostingPolicy()
    first = [LineSlice(line, data.draw(st.integers(0, line.quantity)), 0) for line in order.lines]
    entries = [
        posting.payment_capture(order, order.total_price, policy, NOW.date(), SRC),
        posting.revenue(order, first, True, "WH", policy, NOW.date(), SRC),
    ]
    refund_units = [(s.line, data.draw(st.integers(0, s.units))) for s in first]
    refund = Refund("r1", "1", NOW,
                    tuple(RefundLine(line.line_id, n, Disposition.RESTOCK, None, 0, 0)
                          for line, n in refund_units if n),
                    (RefundTender("t1", "shopify_payments",
                                  data.draw(st.integers(0, order.total_price)),
                                  RefundMethod.ORIGINAL_TENDER),),
                    shipping=data.draw(st.integers(0, 500)), shipping_tax=25)
    ctx = RefundContext(tuple(LineSlice(line, n, 0) for line, n in refund_units if n),
                        (), True, "STORE-2")
    entries.append(posting.refund(order, refund, ctx, policy, NOW.date(), SRC))
    for entry in entries:
        if entry is not None:  # an empty entry is no entry; a built one balanced on creation
            assert sum(line.amount for line in entry.lines) == 0
    # Whatever the refund reversed versus what went back to the card, the difference is
    # visible in refund adjustments rather than lost.
    refund_entry = entries[-1]
    if refund_entry is not None and refund.refunded_to_customer:
        clearing = sum(line.amount for line in refund_entry.lines
                       if line.account == "Assets:Clearing:Shopify-Payments")
        assert clearing == -refund.refunded_to_customer
