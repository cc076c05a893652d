"""Settlement entries without a database: split at month ends, and in the functional currency.

Figures are hand-computed in each test's docstring; amounts in the assertions are minor units.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from retailhub.domain.fx import FxRates, to_functional
from retailhub.domain.ledger import JournalEntry, SourceRef, residuals
from retailhub.domain.posting import PostingPolicy
from retailhub.domain.settlement_posting import month_parts, settlement_entries
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

NY = ZoneInfo("America/New_York")
POLICY = PostingPolicy()
SRC = SourceRef("settlement", "stripe:po_1")
CLEARING = "Assets:Clearing:Stripe"
FEES = "Expenses:Payment-Fees:Stripe"
CONVERSION = "Equity:Currency-Conversion"
FX = "Income:FX-Gains-Losses"
TRANSIT = "Assets:Payouts-In-Transit"


def line(
    kind: LineKind,
    amount: int,
    at: datetime,
    currency: str = "USD",
    original: tuple[int, str] | None = None,
) -> SettlementLine:
    return SettlementLine(
        "stripe",
        "po_1",
        1,
        kind,
        amount,
        currency,
        at,
        "ch_1",
        original_amount=original[0] if original else None,
        original_currency=original[1] if original else None,
    )


def payout(lines: list[SettlementLine], deposit: date, currency: str = "USD") -> Settlement:
    return Settlement(
        "stripe", "po_1", currency, sum(x.amount for x in lines), deposit, tuple(lines)
    )


def book(entry: JournalEntry) -> dict[tuple[str, str], int]:
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for x in entry.lines:
        sums[(x.account, x.currency)] += x.amount
    return {k: v for k, v in sums.items() if v}


def balanced(entries: list[JournalEntry]) -> None:
    for entry in entries:
        assert not any(residuals(entry.lines).values()), entry


def test_a_settlement_within_one_month_is_one_entry_into_the_bank() -> None:
    lines = [
        line(LineKind.CHARGE, 10000, datetime(2026, 10, 5, 15, tzinfo=UTC)),
        line(LineKind.FEE, -320, datetime(2026, 10, 5, 15, tzinfo=UTC)),
    ]
    (entry,) = settlement_entries(
        payout(lines, date(2026, 10, 7)), POLICY, date(2026, 10, 7), SRC, NY
    )
    assert entry.rule == "settlement" and entry.entry_date == date(2026, 10, 7)
    assert book(entry) == {
        (CLEARING, "USD"): -10000,
        (FEES, "USD"): 320,
        ("Assets:Bank", "USD"): 9680,
    }


def test_a_settlement_across_a_month_end_posts_each_month_and_then_the_payout() -> None:
    """Charges 100.00 (Oct 30) and 50.00 (Oct 31, 23:30 in New York: Nov 1 in UTC), fees 3.20
    and 1.75, a refund of 20.00 on Nov 2; deposited Nov 4.

        2026-10-31 settlement:2026-10   Clearing -150.00  Fees 4.95  In transit 145.05
        2026-11-02 settlement:2026-11   Clearing   20.00             In transit -20.00
        2026-11-04 settlement:payout    Bank 125.05                  In transit -125.05
    """
    lines = [
        line(LineKind.CHARGE, 10000, datetime(2026, 10, 30, 14, tzinfo=UTC)),
        line(LineKind.FEE, -320, datetime(2026, 10, 30, 14, tzinfo=UTC)),
        line(LineKind.CHARGE, 5000, datetime(2026, 11, 1, 3, 30, tzinfo=UTC)),
        line(LineKind.FEE, -175, datetime(2026, 11, 1, 3, 30, tzinfo=UTC)),
        line(LineKind.REFUND, -2000, datetime(2026, 11, 2, 16, tzinfo=UTC)),
    ]
    s = payout(lines, date(2026, 11, 4))
    assert [(p.month, p.last_day, len(p.lines)) for p in month_parts(s.lines, NY)] == [
        ("2026-10", date(2026, 10, 31), 4),
        ("2026-11", date(2026, 11, 2), 1),
    ]
    entries = settlement_entries(s, POLICY, date(2026, 11, 4), SRC, NY)
    balanced(entries)
    assert [(e.rule, e.entry_date) for e in entries] == [
        ("settlement:2026-10", date(2026, 10, 31)),
        ("settlement:2026-11", date(2026, 11, 2)),
        ("settlement:payout", date(2026, 11, 4)),
    ]
    october, november, deposit = (book(e) for e in entries)
    assert october == {(CLEARING, "USD"): -15000, (FEES, "USD"): 495, (TRANSIT, "USD"): 14505}
    assert november == {(CLEARING, "USD"): 2000, (TRANSIT, "USD"): -2000}
    assert deposit == {("Assets:Bank", "USD"): 12505, (TRANSIT, "USD"): -12505}
    assert len({e.key for e in entries}) == 3  # one idempotency key per part


def test_a_eur_charge_paid_out_in_usd_realises_the_exchange_difference() -> None:
    """EUR 100.00 captured Oct 5 at 1.10 (book value USD 110.00), paid out Oct 9 as USD 108.00
    less a USD 3.50 fee:

        Assets:Clearing:Stripe          -100.00 EUR
        Equity:Currency-Conversion       100.00 EUR
        Equity:Currency-Conversion      -110.00 USD
        Expenses:Payment-Fees:Stripe       3.50 USD
        Assets:Bank                      104.50 USD
        Income:FX-Gains-Losses             2.00 USD   (110.00 booked, 108.00 received: a loss)
    """
    rates = FxRates.of("USD", [(date(2026, 10, 5), "EUR", Decimal("1.10"))])
    at = datetime(2026, 10, 5, 15, tzinfo=UTC)
    lines = [
        line(LineKind.CHARGE, 10800, at, original=(10000, "EUR")),
        line(LineKind.FEE, -350, at),
    ]
    (entry,) = settlement_entries(
        payout(lines, date(2026, 10, 9)), POLICY, date(2026, 10, 9), SRC, NY, rates
    )
    balanced([entry])
    assert book(entry) == {
        (CLEARING, "EUR"): -10000,
        (CONVERSION, "EUR"): 10000,
        (CONVERSION, "USD"): -11000,
        (FEES, "USD"): 350,
        ("Assets:Bank", "USD"): 10450,
        (FX, "USD"): 200,
    }


def test_a_refund_and_a_gain_net_in_one_realised_difference() -> None:
    """EUR 50.00 captured Oct 5 at 1.10 (55.00) and EUR 20.00 refunded Oct 6 at 1.12 (22.40),
    paid out at Stripe's 1.15: +57.50 and -23.00. Realised: (57.50 - 55.00) + (22.40 - 23.00)
    = 2.50 - 0.60 = 1.90 gain (a credit)."""
    rates = FxRates.of(
        "USD",
        [(date(2026, 10, 5), "EUR", Decimal("1.10")), (date(2026, 10, 6), "EUR", Decimal("1.12"))],
    )
    lines = [
        line(LineKind.CHARGE, 5750, datetime(2026, 10, 5, 15, tzinfo=UTC), original=(5000, "EUR")),
        line(
            LineKind.REFUND, -2300, datetime(2026, 10, 6, 15, tzinfo=UTC), original=(-2000, "EUR")
        ),
    ]
    (entry,) = settlement_entries(
        payout(lines, date(2026, 10, 9)), POLICY, date(2026, 10, 9), SRC, NY, rates
    )
    assert book(entry) == {
        (CLEARING, "EUR"): -3000,
        (CONVERSION, "EUR"): 3000,
        (CONVERSION, "USD"): -(5500 - 2240),
        ("Assets:Bank", "USD"): 3450,
        (FX, "USD"): -190,
    }


def test_a_eur_payout_into_a_eur_account_stays_in_eur_and_realises_nothing() -> None:
    """EUR 100.00 less a EUR 3.00 fee paid out in EUR on Oct 9 (rate 1.12): the clearing
    account and the bank keep euros, the fee is restated at the deposit date's rate.

        Assets:Clearing:Stripe          -100.00 EUR
        Assets:Bank                       97.00 EUR
        Expenses:Payment-Fees:Stripe       3.36 USD
        Equity:Currency-Conversion         3.00 EUR
        Equity:Currency-Conversion        -3.36 USD
    """
    at = datetime(2026, 10, 5, 15, tzinfo=UTC)
    lines = [line(LineKind.CHARGE, 10000, at, "EUR"), line(LineKind.FEE, -300, at, "EUR")]
    (entry,) = settlement_entries(
        payout(lines, date(2026, 10, 9), "EUR"), POLICY, date(2026, 10, 9), SRC, NY
    )
    restated = to_functional(entry, Decimal("1.12"), "USD", POLICY.accounts)
    assert restated is not None
    assert book(restated) == {
        (CLEARING, "EUR"): -10000,
        ("Assets:Bank", "EUR"): 9700,
        (FEES, "USD"): 336,
        (CONVERSION, "EUR"): 300,
        (CONVERSION, "USD"): -336,
    }
    assert FX not in {x.account for x in restated.lines}


def test_a_payout_in_a_foreign_currency_of_charges_booked_in_the_functional_one() -> None:
    """Books in EUR. EUR 100.00 captured, paid out as USD 108.00 less a USD 3.50 fee on Oct 9,
    when a dollar is worth EUR 0.92: the fee is EUR 3.22, the USD 104.50 in the bank EUR 96.14,
    so EUR 100.00 became EUR 99.36: a EUR 0.64 loss."""
    rates = FxRates.of("EUR", [(date(2026, 10, 1), "USD", Decimal("0.92"))])
    at = datetime(2026, 10, 5, 15, tzinfo=UTC)
    lines = [
        line(LineKind.CHARGE, 10800, at, original=(10000, "EUR")),
        line(LineKind.FEE, -350, at),
    ]
    (entry,) = settlement_entries(
        payout(lines, date(2026, 10, 9)), POLICY, date(2026, 10, 9), SRC, NY, rates
    )
    assert book(entry) == {
        (CLEARING, "EUR"): -10000,
        (FEES, "EUR"): 322,
        ("Assets:Bank", "USD"): 10450,
        (CONVERSION, "USD"): -10450,
        (CONVERSION, "EUR"): 9614,
        (FX, "EUR"): 64,
    }


def test_converted_charges_across_a_month_end_realise_per_month_through_transit() -> None:
    """EUR 100.00 on Oct 30 (1.10) and EUR 50.00 on Nov 2 (1.12), paid out Nov 4 at 1.11:
    USD 111.00 and 55.50. October realises 111.00 - 110.00 = 1.00 gain, November
    55.50 - 56.00 = 0.50 loss; transit takes 111.00 then 55.50, and the payout empties it."""
    rates = FxRates.of(
        "USD",
        [(date(2026, 10, 30), "EUR", Decimal("1.10")), (date(2026, 11, 2), "EUR", Decimal("1.12"))],
    )
    lines = [
        line(
            LineKind.CHARGE, 11100, datetime(2026, 10, 30, 15, tzinfo=UTC), original=(10000, "EUR")
        ),
        line(LineKind.CHARGE, 5550, datetime(2026, 11, 2, 15, tzinfo=UTC), original=(5000, "EUR")),
    ]
    entries = settlement_entries(
        payout(lines, date(2026, 11, 4)), POLICY, date(2026, 11, 4), SRC, NY, rates
    )
    balanced(entries)
    october, november, deposit = (book(e) for e in entries)
    assert october[(FX, "USD")] == -100 and october[(TRANSIT, "USD")] == 11100
    assert november[(FX, "USD")] == 50 and november[(TRANSIT, "USD")] == 5550
    assert deposit == {("Assets:Bank", "USD"): 16650, (TRANSIT, "USD"): -16650}
