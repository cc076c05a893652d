"""Reconciliation as finance meets it: payments the hub recorded against what gateways paid out,
and payouts against the bank statement.

The values are hand-made but shaped like the vendors' own rows (see /work/shared/vendor-formats.md):
Stripe ids (``ch_…``, ``po_…``) and a fee line per charge sharing the charge's id; Amazon V2
settlement rows, one per amount component (``ItemPrice/Principal``, ``ItemPrice/Tax``,
``Promotion/Shipping``, ``ItemFees/Commission``; section 4); Adyen ``Settled`` / ``Refunded``
rows repeating the payment's PSP reference (section 5).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailhub.domain.bank import BankLine
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.problems import ProblemType
from retailhub.domain.reconciliation import (
    DepositMatch,
    MatchPolicy,
    Outcome,
    Reconciliation,
    ReconItem,
    match_deposits,
    reconcile,
)
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
_ids = itertools.count(1)
_line_nos = itertools.count(1)

KIND_OF = {
    PaymentKind.CAPTURE: LineKind.CHARGE,
    PaymentKind.REFUND: LineKind.REFUND,
    PaymentKind.CHARGEBACK: LineKind.CHARGEBACK,
    PaymentKind.CHARGEBACK_REVERSAL: LineKind.CHARGEBACK_REVERSAL,
}


def receipt(
    amount: int,
    *,
    gateway: str = "stripe",
    txn: str | None = None,
    order: str | None = None,
    at: datetime = T0,
    kind: PaymentKind | None = None,
    currency: str = "USD",
    rid: str | None = None,
) -> ExpectedReceipt:
    kind = kind or (PaymentKind.CAPTURE if amount >= 0 else PaymentKind.REFUND)
    rid = rid or f"rcpt-{next(_ids):04d}"
    return ExpectedReceipt(gateway, kind, amount, currency, at, txn, order, rid)


def line(
    amount: int,
    *,
    gateway: str = "stripe",
    txn: str | None = None,
    order: str | None = None,
    at: datetime = T0 + 2 * DAY,
    kind: LineKind | None = None,
    currency: str = "USD",
    settlement: str = "po_1OaXyZ2eZvKYlo2C",
    description: str = "",
) -> SettlementLine:
    kind = kind or (LineKind.CHARGE if amount >= 0 else LineKind.REFUND)
    return SettlementLine(
        gateway, settlement, next(_line_nos), kind, amount, currency, at, txn, order, description
    )


def only(found: Reconciliation | list[ReconItem]) -> ReconItem:
    items = found.items if isinstance(found, Reconciliation) else found
    assert len(items) == 1, items
    return items[0]


# -- pass 1: transaction id -------------------------------------------------------------------


def test_a_stripe_charge_matches_its_line_by_id_and_its_fee_is_recognised():
    sale = receipt(4999, txn="ch_3PqXa1")
    charge = line(4999, txn="ch_3PqXa1")
    fee = line(-175, txn="ch_3PqXa1", kind=LineKind.FEE)
    result = reconcile([sale], [fee, charge])
    item = only(result)
    assert (item.outcome, item.method, item.receipts, item.lines) == (
        Outcome.MATCHED,
        "transaction_id",
        (sale,),
        (charge,),
    )
    assert (item.expected, item.settled, item.variance) == (4999, 4999, 0)
    assert result.recognised == [fee]
    assert result.match_rate == Fraction(1)
    assert result.problems() == []


def test_a_charge_settled_in_two_parts_is_summed_many_to_one():
    sale = receipt(10_000, txn="ch_split")
    parts = [line(6_000, txn="ch_split"), line(4_000, txn="ch_split", at=T0 + 3 * DAY)]
    item = only(reconcile([sale], parts))
    assert item.outcome is Outcome.MATCHED
    assert item.lines == tuple(parts) and item.settled == 10_000


def test_a_short_payment_found_by_id_is_a_variance_with_its_amount():
    sale = receipt(10_000, txn="ch_short")
    paid = line(9_850, txn="ch_short")
    result = reconcile([sale], [paid])
    item = only(result)
    assert (item.outcome, item.method, item.variance) == (
        Outcome.VARIANCE,
        "transaction_id",
        -150,
    )
    assert result.match_rate == Fraction(0)
    [problem] = result.problems()
    assert problem.type is ProblemType.SETTLEMENT_VARIANCE
    assert problem.amount == 150
    assert "expected 100.00, settled 98.50 USD (variance -1.50)" in problem.reason
    assert "ch_short" in problem.reason and problem.subject == f"receipt:{sale.receipt_id}"


def test_a_difference_within_the_tolerance_is_a_match():
    sale, paid = receipt(10_000, txn="ch_round"), line(10_001, txn="ch_round")
    assert only(reconcile([sale], [paid])).outcome is Outcome.VARIANCE
    item = only(reconcile([sale], [paid], MatchPolicy(amount_tolerance=1)))
    assert item.outcome is Outcome.MATCHED and item.variance == 1


def test_adyen_refund_rows_repeating_the_payment_reference_match_the_refund_not_the_capture():
    # Adyen's Settled and Refunded rows both carry the payment's PSP reference (section 5).
    capture = receipt(8_000, gateway="adyen", txn="8835511210681232", currency="EUR")
    refund = receipt(-3_000, gateway="adyen", txn="8835511210681232", currency="EUR")
    settled = line(8_000, gateway="adyen", txn="8835511210681232", currency="EUR")
    refunded = line(-3_000, gateway="adyen", txn="8835511210681232", currency="EUR")
    result = reconcile([refund, capture], [refunded, settled])
    assert {(i.receipts, i.lines, i.outcome) for i in result.items} == {
        ((capture,), (settled,), Outcome.MATCHED),
        ((refund,), (refunded,), Outcome.MATCHED),
    }


def test_an_id_in_another_gateway_or_currency_does_not_match():
    sale = receipt(2_500, txn="shared-id", gateway="square")
    elsewhere = line(2_600, txn="shared-id", gateway="stripe")
    result = reconcile([sale], [elsewhere], as_of=T0 + 30 * DAY)
    assert result.counts()[Outcome.UNKNOWN] == 1
    assert result.counts()[Outcome.MISSING] == 1  # square has no settlement at all, and it is late
    in_euros = line(2_500, txn="ch_fx", currency="EUR")
    result = reconcile([receipt(2_500, txn="ch_fx")], [in_euros])
    assert {i.outcome for i in result.items} == {Outcome.UNKNOWN, Outcome.PENDING}


# -- pass 2: order reference ------------------------------------------------------------------


def test_an_amazon_order_written_as_component_rows_matches_its_capture():
    order = "114-3941689-8772232"
    capture = receipt(5_797, gateway="amazon", order=order)
    rows = [
        line(4_999, gateway="amazon", order=order, description="ItemPrice/Principal"),
        line(499, gateway="amazon", order=order, description="ItemPrice/Tax"),
        line(499, gateway="amazon", order=order, description="ItemPrice/Shipping"),
        line(-200, gateway="amazon", order=order, description="Promotion/Shipping"),
    ]
    commission = line(
        -750,
        gateway="amazon",
        order=order,
        kind=LineKind.COMMISSION,
        description="ItemFees/Commission",
    )
    result = reconcile([capture], [*rows, commission])
    item = only(result)
    assert (item.outcome, item.method, item.receipts) == (Outcome.MATCHED, "order_ref", (capture,))
    # The negative Promotion row is a CHARGE: it stays with the capture, not with refunds.
    assert sorted(item.lines, key=lambda ln: ln.line_no) == rows
    assert result.recognised == [commission]


def test_an_order_captured_in_two_shipments_against_its_rows_is_many_to_many():
    order = "114-0000001-0000001"
    shipments = [
        receipt(3_000, gateway="amazon", order=order),
        receipt(2_000, gateway="amazon", order=order, at=T0 + DAY),
    ]
    rows = [line(4_500, gateway="amazon", order=order), line(400, gateway="amazon", order=order)]
    item = only(reconcile(shipments, rows))
    assert (item.outcome, item.expected, item.settled, item.variance) == (
        Outcome.VARIANCE,
        5_000,
        4_900,
        -100,
    )
    assert set(item.receipts) == set(shipments) and set(item.lines) == set(rows)


def test_an_amazon_refund_matches_its_refund_rows_apart_from_the_order():
    order = "114-0000002-0000002"
    capture = receipt(5_000, gateway="amazon", order=order)
    refund = receipt(-1_800, gateway="amazon", order=order, at=T0 + 4 * DAY)
    rows = [
        line(5_000, gateway="amazon", order=order),
        line(-1_500, gateway="amazon", order=order, description="ItemPrice/Principal"),
        line(-300, gateway="amazon", order=order, description="ItemPrice/Tax"),
    ]
    result = reconcile([capture, refund], rows)
    assert [(i.outcome, i.expected, i.settled) for i in result.items] == [
        (Outcome.MATCHED, 5_000, 5_000),
        (Outcome.MATCHED, -1_800, -1_800),
    ]


def test_a_capture_and_refund_settled_as_one_net_line_are_one_item():
    order = "R-1001"
    capture = receipt(10_000, gateway="paypal", order=order)
    refund = receipt(-3_000, gateway="paypal", order=order, at=T0 + DAY)
    net = line(7_000, gateway="paypal", order=order)
    item = only(reconcile([capture, refund], [net]))
    assert (item.outcome, item.method, item.expected, item.settled) == (
        Outcome.MATCHED,
        "order_ref",
        7_000,
        7_000,
    )
    assert set(item.receipts) == {capture, refund}


def test_an_order_ref_does_not_join_two_different_transaction_ids():
    # The hub knows ch_first for the order; the payout settled ch_second for it: two payments.
    known = receipt(6_000, txn="ch_first", order="1001")
    other = line(6_000, txn="ch_second", order="1001")
    result = reconcile([known], [other])
    assert {i.outcome for i in result.items} == {Outcome.UNKNOWN, Outcome.PENDING}
    # Without a gateway id on the receipt (a channel order), the order reference decides.
    channel_order = receipt(6_000, order="1001")
    item = only(reconcile([channel_order], [other]))
    assert (item.outcome, item.method) == (Outcome.MATCHED, "order_ref")


# -- pass 3: amount and date ------------------------------------------------------------------


def test_a_line_without_ids_takes_the_earliest_open_receipt_of_its_amount():
    older = receipt(2_500, at=T0)
    newer = receipt(2_500, at=T0 + 3 * DAY)
    paid = line(2_500, at=T0 + 3 * DAY + timedelta(hours=12))
    item = only([i for i in reconcile([newer, older], [paid]).items if i.lines])
    assert (item.method, item.receipts) == ("amount_date", (older,))


def test_the_closest_policy_takes_the_receipt_nearest_in_time():
    older = receipt(2_500, at=T0)
    newer = receipt(2_500, at=T0 + 3 * DAY)
    paid = line(2_500, at=T0 + 3 * DAY + timedelta(hours=12))
    result = reconcile([newer, older], [paid], MatchPolicy(fuzzy_pick="closest"))
    item = only([i for i in result.items if i.lines])
    assert (item.method, item.receipts) == ("amount_date", (newer,))


def test_taking_the_nearest_receipt_can_strand_an_older_one_and_earliest_does_not():
    day0, day6 = receipt(1_999, at=T0), receipt(1_999, at=T0 + 6 * DAY)
    first, second = line(1_999, at=T0 + 6.5 * DAY), line(1_999, at=T0 + 7.5 * DAY)
    earliest = reconcile([day0, day6], [first, second])
    assert earliest.counts()[Outcome.MATCHED] == 2
    closest = reconcile([day0, day6], [first, second], MatchPolicy(fuzzy_pick="closest"))
    assert closest.counts()[Outcome.MATCHED] == 1  # day0 is 7.5 days before `second`: too old
    assert closest.counts()[Outcome.UNKNOWN] == 1


@pytest.mark.parametrize(
    ("offset", "pairs"),
    [
        (-DAY - timedelta(hours=1), False),  # the line 25 h before the receipt
        (-DAY, True),
        (0 * DAY, True),
        (7 * DAY, True),
        (7 * DAY + timedelta(minutes=1), False),
    ],
)
def test_the_date_window_is_one_day_before_to_seven_days_after(offset, pairs):
    result = reconcile([receipt(1_000)], [line(1_000, at=T0 + offset)])
    assert (result.counts()[Outcome.MATCHED] == 1) is pairs


def test_equal_candidates_go_to_the_lower_receipt_id():
    b, a = receipt(900, rid="rcpt-b"), receipt(900, rid="rcpt-a")
    for pick in ("earliest", "closest"):
        result = reconcile([b, a], [line(900)], MatchPolicy(fuzzy_pick=pick))
        assert [i.receipts for i in result.items if i.lines] == [(a,)]


def test_a_fuzzy_pair_prefers_the_exact_amount_within_the_tolerance():
    off_by_two = receipt(1_002, at=T0)
    exact = receipt(1_000, at=T0 + DAY)
    result = reconcile([off_by_two, exact], [line(1_000)], MatchPolicy(amount_tolerance=5))
    item = only([i for i in result.items if i.lines])
    assert item.receipts == (exact,)


def test_a_wide_tolerance_still_pairs_by_nearest_amount():
    # 2·tolerance + 1 above the probe limit: the sorted amounts are bisected instead.
    far, near = receipt(1_040, at=T0), receipt(985, at=T0)
    result = reconcile([far, near], [line(1_000)], MatchPolicy(amount_tolerance=50))
    item = only([i for i in result.items if i.lines])
    assert (item.receipts, item.outcome) == ((near,), Outcome.MATCHED)


def test_two_different_transaction_ids_are_never_a_fuzzy_pair():
    known = receipt(3_000, txn="ch_known")
    stranger = line(3_000, txn="ch_stranger")
    result = reconcile([known], [stranger])
    assert {i.outcome for i in result.items} == {Outcome.UNKNOWN, Outcome.PENDING}


def test_id_less_lines_are_paired_before_lines_whose_id_matched_nothing():
    # The stray line with an id comes first in time, but the id-less line gets the receipt.
    open_receipt = receipt(4_200, at=T0)
    stray = line(4_200, txn="ch_unknown", at=T0 + DAY)
    own = line(4_200, at=T0 + 2 * DAY)
    result = reconcile([open_receipt], [stray, own])
    matched = [i for i in result.items if i.outcome is Outcome.MATCHED]
    assert [i.lines for i in matched] == [(own,)]
    assert [i.lines for i in result.items if i.outcome is Outcome.UNKNOWN] == [(stray,)]


# -- pass 4: batches --------------------------------------------------------------------------


def test_a_days_card_batch_paid_as_one_line_matches_all_its_receipts():
    sales = [receipt(1_000, gateway="square", at=T0 + timedelta(hours=h)) for h in (0, 2, 5)]
    batch = line(3_000, gateway="square", at=T0 + timedelta(hours=13))
    item = only(reconcile(sales, [batch]))
    assert (item.outcome, item.method, set(item.receipts)) == (Outcome.MATCHED, "batch", set(sales))


def test_a_batch_takes_the_smallest_subset_of_the_day_that_adds_up():
    sales = [
        receipt(amount, gateway="square", at=T0 + timedelta(hours=i))
        for i, amount in enumerate((1_000, 2_000, 3_000, 4_500))
    ]
    batch = line(5_000, gateway="square", at=T0 + timedelta(hours=12))
    result = reconcile(sales, [batch], as_of=T0 + 2 * DAY)
    [item] = [i for i in result.items if i.method == "batch"]
    assert sorted(r.amount for r in item.receipts) == [2_000, 3_000]
    assert result.counts()[Outcome.PENDING] == 2


def test_a_batch_needs_the_receipts_on_the_lines_day():
    sales = [receipt(1_000, gateway="square", at=T0), receipt(2_000, gateway="square", at=T0 + DAY)]
    batch = line(3_000, gateway="square", at=T0 + DAY + timedelta(hours=1))
    assert reconcile(sales, [batch]).counts()[Outcome.MATCHED] == 0


def test_a_day_larger_than_the_search_limit_is_only_tried_whole():
    sales = [receipt(100 + n, gateway="square", at=T0 + timedelta(minutes=n)) for n in range(14)]
    part = line(100 + 101, gateway="square", at=T0 + timedelta(hours=12))
    assert reconcile(sales, [part]).counts()[Outcome.MATCHED] == 0
    whole = line(sum(r.amount for r in sales), gateway="square", at=T0 + timedelta(hours=12))
    assert only([i for i in reconcile(sales, [whole]).items if i.lines]).method == "batch"


# -- what is left -----------------------------------------------------------------------------


def test_a_line_nobody_expected_is_unknown_with_its_amount():
    stray = line(7_777, txn="ch_nobody", settlement="po_1Stray", at=T0)
    result = reconcile([], [stray])
    item = only(result)
    assert (item.outcome, item.method, item.expected, item.settled, item.variance) == (
        Outcome.UNKNOWN,
        "",
        0,
        7_777,
        7_777,
    )
    assert result.unmatched() == [item]
    [problem] = result.problems()
    assert problem.type is ProblemType.UNKNOWN_IN_SETTLEMENT and problem.amount == 7_777
    assert f"settlement po_1Stray line {stray.line_no}: charge of 77.77 USD (ch_nobody)" in (
        problem.reason
    )


def test_the_rows_of_an_order_nobody_expected_are_one_unknown_of_their_total():
    order = "111-7714620-2286153"
    rows = [
        line(1_999, gateway="amazon", order=order, description="ItemPrice/Principal"),
        line(160, gateway="amazon", order=order, description="ItemPrice/Tax"),
    ]
    stray_without_ids = line(500, gateway="amazon")
    result = reconcile([], [*rows, stray_without_ids])
    assert sorted((i.outcome, i.settled, len(i.lines)) for i in result.items) == [
        (Outcome.UNKNOWN, 500, 1),
        (Outcome.UNKNOWN, 2_159, 2),
    ]
    [problem] = [p for p in result.problems() if p.amount == 2_159]
    assert order in problem.reason and "(together 21.59 USD)" in problem.reason


def test_a_receipt_is_missing_once_its_gateway_has_settled_past_its_due_date():
    late = receipt(5_000, txn="ch_late", at=T0)
    other = receipt(1_000, txn="ch_other", at=T0 + 5 * DAY)
    settled_after_due = line(1_000, txn="ch_other", at=T0 + 7 * DAY + timedelta(hours=1))
    result = reconcile([late, other], [settled_after_due])
    assert [(i.outcome, i.receipts) for i in result.unmatched()] == [(Outcome.MISSING, (late,))]
    [problem] = result.problems()
    assert problem.type is ProblemType.MISSING_FROM_SETTLEMENT and problem.amount == 5_000
    assert "ch_late" in problem.reason and "50.00 USD" in problem.reason


def test_a_receipt_is_pending_while_the_gateways_settlements_do_not_reach_its_due_date():
    recent = receipt(5_000, txn="ch_recent", at=T0)
    other = receipt(1_000, txn="ch_other2", at=T0)
    settled_before_due = line(1_000, txn="ch_other2", at=T0 + 6 * DAY)
    result = reconcile([recent, other], [settled_before_due], as_of=T0 + 60 * DAY)
    assert [i.outcome for i in result.unmatched()] == [Outcome.PENDING]
    assert result.problems() == []


@pytest.mark.parametrize(
    ("as_of", "outcome"),
    [
        (None, Outcome.PENDING),
        (T0 + 5 * DAY, Outcome.PENDING),
        (T0 + 7 * DAY + timedelta(seconds=1), Outcome.MISSING),
    ],
)
def test_with_no_settlement_of_the_gateway_as_of_decides(as_of, outcome):
    unsettled = receipt(2_000, gateway="klarna", txn="k-1", at=T0)
    stripe_only = [line(10, gateway="stripe", at=T0 + 30 * DAY)]  # another gateway's coverage
    item = only([i for i in reconcile([unsettled], stripe_only, as_of=as_of).items if i.receipts])
    assert item.outcome is outcome


def test_cash_gift_card_and_store_credit_receipts_are_not_reconciled():
    till = [
        receipt(2_000, gateway="cash"),
        receipt(500, gateway="Gift_Card"),
        receipt(300, gateway="store_credit"),
        receipt(100, gateway="manual"),
    ]
    card = receipt(1_500, txn="ch_card")
    result = reconcile([*till, card], [line(1_500, txn="ch_card")], as_of=T0 + 90 * DAY)
    assert [i.receipts for i in result.items] == [(card,)]
    assert sorted(r.amount for r in result.ignored) == [100, 300, 500, 2_000]
    cod = receipt(800, gateway="Cash on Delivery (COD)")
    policy = MatchPolicy(unsettled_gateways=frozenset({"cash on delivery (cod)"}))
    assert reconcile([cod], [], policy).ignored == [cod]


def test_fees_commissions_reserves_and_adjustments_are_recognised_not_matched():
    others = [
        line(-175, kind=LineKind.FEE),
        line(-1_200, kind=LineKind.COMMISSION),
        line(-5_000, kind=LineKind.RESERVE),
        line(250, kind=LineKind.ADJUSTMENT),
    ]
    result = reconcile([], others)
    assert result.items == [] and result.match_rate is None
    assert sorted(result.recognised, key=lambda ln: ln.line_no) == others


def test_counts_cover_every_outcome():
    counts = reconcile([], []).counts()
    assert counts == dict.fromkeys(Outcome, 0)


def test_a_policy_refuses_nonsense():
    with pytest.raises(ValueError, match="amount_tolerance must be a whole number"):
        MatchPolicy(amount_tolerance=-1)
    with pytest.raises(ValueError, match="batch_max_items is at most 16"):
        MatchPolicy(batch_max_items=30)
    with pytest.raises(ValueError, match="fuzzy_pick"):
        MatchPolicy(fuzzy_pick="nearest")  # type: ignore[arg-type]


# -- the result does not depend on input order ------------------------------------------------


def month_of_mixed_cases() -> tuple[list[ExpectedReceipt], list[SettlementLine]]:
    order = "114-7777777-7777777"
    rs = [
        receipt(4_999, txn="ch_a"),
        receipt(-1_000, txn="re_a"),
        receipt(3_000, gateway="amazon", order=order),
        receipt(1_999, at=T0),
        receipt(1_999, at=T0 + DAY),
        receipt(1_999, at=T0 + DAY, rid="rcpt-tie"),
        receipt(1_000, gateway="square", at=T0 + timedelta(hours=1)),
        receipt(2_000, gateway="square", at=T0 + timedelta(hours=2)),
        receipt(9_999, txn="ch_missing", at=T0 - 20 * DAY),
        receipt(1_000, gateway="cash"),
    ]
    ls = [
        line(4_999, txn="ch_a"),
        line(-145, txn="ch_a", kind=LineKind.FEE),
        line(-1_000, txn="re_a"),
        line(2_500, gateway="amazon", order=order),
        line(500, gateway="amazon", order=order),
        line(1_999, at=T0 + 2 * DAY),
        line(1_999, at=T0 + 2 * DAY),
        line(3_000, gateway="square", at=T0 + timedelta(hours=12)),  # 22:00, the same day
        line(123, txn="ch_unknown"),
    ]
    return rs, ls


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_shuffled_input_gives_the_same_result(rnd: random.Random):
    rs, ls = month_of_mixed_cases()
    expected = reconcile(rs, ls)
    assert expected.counts()[Outcome.MATCHED] == 6
    rnd.shuffle(rs)
    rnd.shuffle(ls)
    assert reconcile(rs, ls) == expected


# -- properties -------------------------------------------------------------------------------

GATEWAYS = ("stripe", "adyen", "cash")
amounts = st.sampled_from([-2_000, -500, 0, 500, 999, 1_000, 1_001, 2_500])
moments = st.integers(0, 20 * 24).map(lambda h: T0 + timedelta(hours=h))
ids = st.sampled_from([None, None, "t1", "t2", "t3"])
refs = st.sampled_from([None, None, "o1", "o2"])


@st.composite
def receipts_and_lines(draw: st.DrawFn) -> tuple[list[ExpectedReceipt], list[SettlementLine]]:
    rs = [
        ExpectedReceipt(
            draw(st.sampled_from(GATEWAYS)),
            draw(st.sampled_from(list(PaymentKind))),
            draw(amounts),
            draw(st.sampled_from(["USD", "EUR"])),
            draw(moments),
            draw(ids),
            draw(refs),
            f"r{n}",
        )
        for n in range(draw(st.integers(0, 25)))
    ]
    ls = [
        SettlementLine(
            draw(st.sampled_from(GATEWAYS[:2])),
            "s1",
            n,
            draw(st.sampled_from(list(LineKind))),
            draw(amounts),
            draw(st.sampled_from(["USD", "EUR"])),
            draw(moments),
            draw(ids),
            draw(refs),
        )
        for n in range(draw(st.integers(0, 25)))
    ]
    return rs, ls


def policies() -> st.SearchStrategy[MatchPolicy]:
    return st.builds(
        MatchPolicy,
        amount_tolerance=st.sampled_from([0, 1, 600]),
        fuzzy_pick=st.sampled_from(["earliest", "closest"]),
    )


@settings(max_examples=150, deadline=None)
@given(receipts_and_lines(), policies())
def test_every_matchable_line_and_settleable_receipt_is_in_exactly_one_item(data, policy):
    rs, ls = data
    result = reconcile(rs, ls, policy, as_of=T0 + 10 * DAY)
    seen_r = Counter(id(r) for item in result.items for r in item.receipts)
    seen_l = Counter(id(ln) for item in result.items for ln in item.lines)
    assert seen_r == Counter(id(r) for r in rs if r.gateway != "cash")
    assert seen_l == Counter(id(ln) for ln in ls if ln.matchable)
    assert Counter(map(id, result.recognised)) == Counter(id(ln) for ln in ls if not ln.matchable)
    assert Counter(map(id, result.ignored)) == Counter(id(r) for r in rs if r.gateway == "cash")
    for item in result.items:
        assert item.expected == sum(r.amount for r in item.receipts)
        assert item.settled == sum(ln.amount for ln in item.lines)
        assert {(x.gateway, x.currency) for x in (*item.receipts, *item.lines)} == {
            (item.gateway, item.currency)
        }
        assert (item.outcome is Outcome.VARIANCE) == (
            bool(item.receipts and item.lines) and abs(item.variance) > policy.amount_tolerance
        )


@settings(max_examples=150, deadline=None)
@given(receipts_and_lines(), policies())
def test_totals_expected_and_settled_equal_the_inputs(data, policy):
    rs, ls = data
    result = reconcile(rs, ls, policy)
    for currency in ("USD", "EUR"):
        items = [i for i in result.items if i.currency == currency]
        assert sum(i.expected for i in items) == sum(
            r.amount for r in rs if r.currency == currency and r.gateway != "cash"
        )
        assert sum(i.settled for i in items) == sum(
            ln.amount for ln in ls if ln.currency == currency and ln.matchable
        )


@settings(max_examples=150, deadline=None)
@given(receipts_and_lines())
def test_lines_that_copy_the_receipts_all_match_without_variance(data):
    rs, _ = data
    rs = [r for r in rs if r.gateway != "cash"]
    copies = [
        SettlementLine(
            r.gateway,
            "copy",
            n,
            KIND_OF[r.kind],
            r.amount,
            r.currency,
            r.occurred_at,
            r.transaction_id,
            r.order_ref,
        )
        for n, r in enumerate(rs)
    ]
    result = reconcile(rs, copies)
    assert result.match_rate == (Fraction(1) if rs else None)
    assert {i.outcome for i in result.items} <= {Outcome.MATCHED}
    assert all(i.variance == 0 for i in result.items)


# -- payouts against the bank -----------------------------------------------------------------

PAYOUT_DAY = date(2026, 3, 6)


def payout(
    total: int,
    sid: str = "po_1NXWPnCo6bFb1KQ5Y1k0cnLx",
    gateway: str = "stripe",
    deposit: date | None = PAYOUT_DAY,
    currency: str = "USD",
    lines: tuple[SettlementLine, ...] = (),
) -> Settlement:
    return Settlement(gateway, sid, currency, total, deposit, lines)


def credit(
    amount: int, reference: str, booked: date = PAYOUT_DAY, currency: str = "USD"
) -> BankLine:
    return BankLine("DE89370400440532013000", next(_line_nos), booked, amount, currency, reference)


def outcomes(matches: list[DepositMatch]) -> list[tuple[str | None, int | None, Outcome, str]]:
    return [
        (
            m.settlement.settlement_id if m.settlement else None,
            m.bank_line.amount if m.bank_line else None,
            m.outcome,
            m.method,
        )
        for m in matches
    ]


def test_a_payout_is_found_by_its_id_in_the_bank_reference():
    po = payout(125_000)
    bank = [
        credit(125_000, "STRIPE PAYOUT po_1NXWPnCo6bFb1KQ5Y1k0cnLx", PAYOUT_DAY + 2 * DAY),
        credit(125_000, "unrelated transfer"),
    ]
    assert outcomes(match_deposits([po], bank)) == [
        (po.settlement_id, 125_000, Outcome.MATCHED, "exact")
    ]


def test_the_trailing_part_of_the_id_is_enough_and_a_different_amount_is_a_variance():
    po = payout(125_000)
    bank = [credit(124_990, "STRIPE TRANSFER 1NXWPNCO6BFB1KQ5Y1K0CNLX")]
    [match] = match_deposits([po], bank)
    assert (match.outcome, match.method, match.variance) == (Outcome.VARIANCE, "exact", -10)


def test_a_payout_is_found_by_amount_within_the_deposit_window():
    po = payout(88_000, sid="24288684082", gateway="amazon")
    early = credit(88_000, "AMAZON PAYMENTS EU", PAYOUT_DAY - 2 * DAY)  # outside: 2 days early
    good = credit(88_000, "AMAZON PAYMENTS EU", PAYOUT_DAY + 3 * DAY)
    matches = match_deposits([po], [early, good])
    assert outcomes(matches)[0] == (po.settlement_id, 88_000, Outcome.MATCHED, "amount_date")
    assert matches[0].bank_line is good
    # The early credit names a gateway and nothing explains it.
    assert outcomes(matches)[1:] == [(None, 88_000, Outcome.UNKNOWN, "")]


def test_a_payout_without_a_deposit_is_missing_once_the_statement_passes_its_window():
    po = payout(50_000)
    later = credit(1_000, "interest", PAYOUT_DAY + 6 * DAY)
    assert outcomes(match_deposits([po], [later])) == [
        (po.settlement_id, None, Outcome.MISSING, "")
    ]
    earlier = credit(1_000, "interest", PAYOUT_DAY + 4 * DAY)
    assert outcomes(match_deposits([po], [earlier])) == [
        (po.settlement_id, None, Outcome.PENDING, "")
    ]


def test_a_stray_gateway_deposit_is_unknown_and_other_credits_are_left_alone():
    bank = [
        credit(30_000, "PAYPAL *TRANSFER 4J82"),
        credit(12_345, "Customer payment invoice 1001"),
        credit(-5_000, "STRIPE debit"),  # a debit is not a deposit
    ]
    assert outcomes(match_deposits([], bank)) == [(None, 30_000, Outcome.UNKNOWN, "")]


def test_a_payout_of_zero_or_less_needs_no_deposit():
    owed = payout(-4_000, sid="po_negative")
    nothing = payout(0, sid="po_zero")
    assert [m.method for m in match_deposits([owed, nothing], [])] == ["no_deposit_due"] * 2
    assert {m.outcome for m in match_deposits([owed, nothing], [])} == {Outcome.MATCHED}


def test_without_a_deposit_date_the_last_line_date_is_used():
    last = line(10_000, at=datetime(2026, 3, 9, 23, 0, tzinfo=UTC))
    po = payout(10_000, sid="batch-7", gateway="adyen", deposit=None, lines=(last,))
    bank = [credit(10_000, "ADYEN N.V. SETTLEMENT", date(2026, 3, 11))]
    assert outcomes(match_deposits([po], bank)) == [
        ("batch-7", 10_000, Outcome.MATCHED, "amount_date")
    ]


def test_each_bank_line_pays_one_payout_only():
    first, second = payout(20_000, sid="po_A1"), payout(20_000, sid="po_B2")
    bank = [credit(20_000, "STRIPE", PAYOUT_DAY + DAY), credit(20_000, "STRIPE", PAYOUT_DAY)]
    matches = match_deposits([second, first], bank)
    assert [(m.settlement.settlement_id, m.outcome) for m in matches if m.settlement] == [
        ("po_A1", Outcome.MATCHED),
        ("po_B2", Outcome.MATCHED),
    ]
    assert {m.bank_line for m in matches} == set(bank)


def test_a_credit_naming_one_payout_is_not_taken_by_another_on_its_amount():
    plain = payout(20_000, sid="po_1AAAAAAAAAAAAAAA")
    named = payout(20_000, sid="po_1BBBBBBBBBBBBBBB")
    naming = credit(20_000, "STRIPE po_1BBBBBBBBBBBBBBB", PAYOUT_DAY)
    other = credit(20_000, "STRIPE", PAYOUT_DAY + DAY)
    matches = match_deposits([named, plain], [other, naming])
    assert [(m.settlement, m.bank_line, m.method) for m in matches] == [
        (plain, other, "amount_date"),
        (named, naming, "exact"),
    ]


@settings(max_examples=20, deadline=None)
@given(st.randoms(use_true_random=False))
def test_deposit_matching_does_not_depend_on_input_order(rnd: random.Random):
    payouts = [
        payout(20_000, sid="po_1AAAAAAAAAAAAAAA"),
        payout(20_000, sid="po_1BBBBBBBBBBBBBBB"),
        payout(5_000, sid="24288684082", gateway="amazon"),
        payout(0, sid="po_zero"),
    ]
    bank = [
        credit(20_000, "STRIPE", PAYOUT_DAY),
        credit(20_000, "STRIPE", PAYOUT_DAY),
        credit(9_000, "AMAZON EU SARL"),
        credit(4_000, "rent refund"),
    ]
    expected = match_deposits(payouts, bank)
    assert [m.outcome for m in expected].count(Outcome.MATCHED) == 3
    rnd.shuffle(payouts)
    rnd.shuffle(bank)
    assert match_deposits(payouts, bank) == expected
