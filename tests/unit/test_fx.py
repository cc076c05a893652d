"""Exchange rates and restating entries in the functional currency, without a database.

Rates are functional units per one unit of the currency (USD per EUR); the rate of a date is
the latest on or before it. Every restated entry balances in each of its currencies.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retailhub import config
from retailhub.adapters.files.fx_rates import FxRatesFile, FxRatesFileError, load_rates, parse_rates
from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.fx import FxRates, RateMissing, convert, to_functional
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef, residuals

ACC = ChartOfAccounts()
SRC = SourceRef("order", "1001")
D = date(2026, 10, 30)


def lines_of(entry: JournalEntry) -> set[tuple[str, int, str]]:
    return {(line.account, line.amount, line.currency) for line in entry.lines}


# -- converting minor units --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "source", "target", "rate", "expected"),
    [
        (10000, "EUR", "USD", "1.10", 11000),  # EUR 100.00 -> USD 110.00
        (-10000, "EUR", "USD", "1.10", -11000),  # credits convert like debits
        (10000, "EUR", "JPY", "160.25", 16025),  # JPY has no minor digits: EUR 100.00 = 16025 yen
        (1000, "JPY", "USD", "0.0067", 670),  # 1000 yen = USD 6.70
        (1000, "USD", "KWD", "0.307", 3070),  # KWD has three: USD 10.00 = KWD 3.070
        (3070, "KWD", "USD", "3.2573", 1000),  # 3.070 * 3.2573 = 9.999911 -> 10.00
        (1, "EUR", "USD", "1.25", 1),  # 1.25 cents: half-even below the half
        (3, "EUR", "USD", "1.5", 4),  # 4.5 cents -> 4 (even)
        (5, "EUR", "USD", "1.5", 8),  # 7.5 cents -> 8 (even)
        (-3, "EUR", "USD", "1.5", -4),  # symmetrical around zero
    ],
)
def test_conversion_respects_each_currencys_minor_units_and_rounds_half_even(
    minor: int, source: str, target: str, rate: str, expected: int
) -> None:
    assert convert(minor, source, target, Decimal(rate)) == expected


# -- rates by date -----------------------------------------------------------------------------


def test_the_rate_of_a_date_is_the_latest_on_or_before_it() -> None:
    rates = FxRates.of(
        "USD",
        [
            (date(2026, 10, 30), "EUR", Decimal("1.0843")),
            (date(2026, 11, 2), "EUR", Decimal("1.0910")),
            (date(2026, 10, 30), "JPY", Decimal("0.0067")),
        ],
    )
    assert rates.rate("EUR", date(2026, 10, 30)) == Decimal("1.0843")
    assert rates.rate("EUR", date(2026, 11, 1)) == Decimal("1.0843")  # the weekend: Friday's
    assert rates.rate("EUR", date(2026, 11, 2)) == Decimal("1.0910")
    assert rates.rate("EUR", date(2027, 1, 1)) == Decimal("1.0910")
    assert rates.rate("USD", date(2000, 1, 1)) == 1  # the functional currency itself
    assert rates.value(10000, "EUR", date(2026, 10, 31)) == 10843
    with pytest.raises(RateMissing, match=r"no EUR rate on or before 2026-10-29"):
        rates.rate("EUR", date(2026, 10, 29))
    with pytest.raises(RateMissing, match=r"no GBP rate on or before 2026-10-30"):
        rates.rate("GBP", D)


# -- restating an entry ------------------------------------------------------------------------


def test_a_eur_capture_keeps_clearing_in_eur_and_restates_the_deposit_in_usd() -> None:
    """Payment captured, EUR 100.00 at 1.10:

    Assets:Clearing:Stripe              100.00 EUR
    Equity:Currency-Conversion         -100.00 EUR
    Equity:Currency-Conversion          110.00 USD
    Liabilities:Customer-Deposits      -110.00 USD
    """
    entry = JournalEntry(
        D,
        "Payment captured",
        SRC,
        (
            JournalLine("Assets:Clearing:Stripe", 10000, "EUR"),
            JournalLine("Liabilities:Customer-Deposits", -10000, "EUR"),
        ),
        "capture:10000",
    )
    restated = to_functional(entry, Decimal("1.10"), "USD", ACC)
    assert restated is not None
    assert lines_of(restated) == {
        ("Assets:Clearing:Stripe", 10000, "EUR"),
        ("Equity:Currency-Conversion", -10000, "EUR"),
        ("Equity:Currency-Conversion", 11000, "USD"),
        ("Liabilities:Customer-Deposits", -11000, "USD"),
    }
    assert restated.key == entry.key and restated.entry_date == D


def test_rounding_of_restated_lines_is_absorbed_by_the_conversion_account() -> None:
    """Revenue EUR 62.35 = 59.95 + tax 2.40 at 1.0843: 67.61 = 65.00 + 2.60 leaves a cent.

    62.35 * 1.0843 = 67.606105 -> 67.61; 59.95 * 1.0843 = 65.003785 -> 65.00;
    2.40 * 1.0843 = 2.60232 -> 2.60. The cent is credited to the conversion account.
    """
    entry = JournalEntry(
        D,
        "Revenue",
        SRC,
        (
            JournalLine("Liabilities:Customer-Deposits", 6235, "EUR", channel="web"),
            JournalLine("Income:Sales", -5995, "EUR", channel="web"),
            JournalLine("Liabilities:Sales-Tax:NY-State-Tax", -240, "EUR", channel="web"),
        ),
        "revenue",
    )
    restated = to_functional(entry, Decimal("1.0843"), "USD", ACC)
    assert restated is not None
    assert lines_of(restated) == {
        ("Liabilities:Customer-Deposits", 6761, "USD"),
        ("Income:Sales", -6500, "USD"),
        ("Liabilities:Sales-Tax:NY-State-Tax", -260, "USD"),
        ("Equity:Currency-Conversion", -1, "USD"),
    }
    assert all(line.channel == "web" for line in restated.lines)


def test_an_entry_already_in_the_functional_currency_is_left_as_it_is() -> None:
    entry = JournalEntry(
        D,
        "x",
        SRC,
        (JournalLine("Assets:Bank", 5, "USD"), JournalLine("Income:Sales", -5, "USD")),
        "r",
    )
    assert to_functional(entry, Decimal("1.1"), "USD", ACC) is entry


@given(
    st.lists(st.integers(-(10**8), 10**8), min_size=1, max_size=8),
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("500"), places=4),
    st.sampled_from(["EUR", "JPY", "KWD"]),
    st.booleans(),
)
def test_every_restated_entry_balances_in_each_currency(
    amounts: list[int], rate: Decimal, currency: str, with_money: bool
) -> None:
    accounts = ["Income:Sales", "Liabilities:Sales-Tax:X", "Expenses:COGS", "Income:Shipping"]
    lines = [JournalLine(accounts[i % 4], a, currency) for i, a in enumerate(amounts) if a]
    balance = -sum(line.amount for line in lines)
    other = "Assets:Clearing:Stripe" if with_money else "Liabilities:Customer-Deposits"
    lines.append(JournalLine(other, balance or 1, currency))
    if not balance:
        lines.append(JournalLine("Income:Sales", -1, currency))
    entry = JournalEntry(D, "any", SRC, tuple(lines), "r")
    restated = to_functional(entry, rate, "USD", ACC)
    if restated is None:  # worth nothing in USD (a few yen at a tiny rate): nothing to post
        assert all(convert(line.amount, currency, "USD", rate) == 0 for line in lines)
        return
    assert not any(residuals(restated.lines).values())
    held = sum(line.amount for line in restated.lines if line.currency == currency)
    assert held == 0
    # Only money accounts (and their conversion counterpart) stay in the foreign currency.
    assert {line.account for line in restated.lines if line.currency == currency} <= {
        "Assets:Clearing:Stripe",
        "Equity:Currency-Conversion",
    }


def test_money_holding_accounts_are_clearing_bank_transit_reserves_and_mapped_gateways() -> None:
    chart = ChartOfAccounts(gateways={"cash": "Assets:Cash-Drawers"})
    money = [
        chart.clearing_for("stripe"),
        chart.clearing_for("cash"),
        "Assets:Bank",
        "Assets:Bank:EUR",
        "Assets:Payouts-In-Transit",
        "Assets:Gateway-Reserves:Amazon",
        "Assets:Cash-Safe",
    ]
    assert all(chart.holds_money(a) for a in money)
    other = [chart.clearing_for("gift_card"), "Income:Sales", "Assets:Inventory", "Assets:Banking"]
    assert not any(chart.holds_money(a) for a in other)


# -- the rates file ----------------------------------------------------------------------------


def test_the_rates_file_reads_dates_currencies_and_decimal_rates() -> None:
    rates = parse_rates(
        "date,currency,rate\n"
        "# ECB reference rates, inverted\n"
        "2026-10-30,EUR,1.0843\n"
        "\n"
        "2026-10-30,jpy,0.0067\n"
        "2026-10-30,USD,1\n",  # the functional currency itself: harmless
        "usd",
    )
    assert rates.functional == "USD"
    assert rates.rate("EUR", D) == Decimal("1.0843")
    assert rates.rate("JPY", D) == Decimal("0.0067")
    assert rates.currencies() == {"EUR", "JPY"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("date,currency,rate\n2026-10-30,EUR,1.08\n30/10/2026,EUR,1.08\n", 3, "not YYYY-MM-DD"),
        ("2026-10-30,EUR,1.08\n2026-10-31,EURO,1.08\n", 2, "not a currency code"),
        ("2026-10-30,EUR,1,08\n", 1, "expected 3 fields"),
        ("2026-10-30,EUR,abc\n", 1, "is not a number"),
        ("2026-10-30,EUR,0\n", 1, "must be a positive number"),
        ("2026-10-30,EUR,-1.2\n", 1, "must be a positive number"),
        ("2026-10-30,EUR,NaN\n", 1, "must be a positive number"),
        ("2026-10-30,EUR,1.08\n2026-10-30,EUR,1.09\n", 2, "1.08 on line 1"),
        ("2026-10-30,USD,1.02\n", 1, "USD is the functional currency"),
        ('2026-10-30,EUR,"1.08\n', 1, "not readable as CSV"),
    ],
)
def test_a_bad_rates_file_is_refused_naming_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FxRatesFileError, match=message) as caught:
        parse_rates(text, "USD", "fx_rates.csv")
    assert caught.value.line == line
    assert str(caught.value).startswith(f"fx_rates.csv:{line}: ")


def test_a_missing_or_non_utf8_rates_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FxRatesFileError, match="cannot be read"):
        load_rates(tmp_path / "absent.csv", "USD")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("2026-10-30,EUR,1.08\n2026-10-31,EUR,1.08 \xe9\n".encode("latin-1"))
    with pytest.raises(FxRatesFileError, match="not UTF-8") as caught:
        load_rates(latin, "USD")
    assert caught.value.line == 2


def test_the_rates_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "fx_rates.csv"
    path.write_text("2026-10-30,EUR,1.0843\n")
    source = FxRatesFile(path)
    first = source.rates("USD")
    assert source.rates("USD") is first  # unchanged: not read again
    with pytest.raises(RateMissing):
        first.rate("EUR", date(2026, 10, 29))
    path.write_text("2026-10-29,EUR,1.0800\n2026-10-30,EUR,1.0843\n")
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse clock
    assert source.rates("USD").rate("EUR", date(2026, 10, 29)) == Decimal("1.0800")


def test_the_rates_file_is_found_next_to_the_configuration(tmp_path: Path) -> None:
    path = tmp_path / "retailhub.toml"
    path.write_text('[company]\ncurrency = "USD"\n[fx]\nrates_file = "fx_rates.csv"\n')
    settings = config.load(path)
    assert settings.fx_rates_file == tmp_path / "fx_rates.csv"
    fx = settings.rules().fx
    assert fx is not None and fx.functional == "USD" and fx.rates_file == "fx_rates.csv"
    with pytest.raises(config.ConfigError, match=r"\[fx\] unknown keys: rate_file"):
        config.parse(tomllib.loads('[fx]\nrate_file = "x.csv"\n'))
    bare = config.parse(tomllib.loads('[company]\ncurrency = "EUR"\n')).rules().fx
    assert bare is not None and bare.functional == "EUR"
    with pytest.raises(RateMissing, match="none configured"):
        bare.rates().rate("USD", D)


def test_a_clearing_account_moved_by_a_posting_rule_still_holds_foreign_money() -> None:
    """A web_sale rule captures into its own clearing base: restating its EUR entry must keep
    that clearing line in euros, as it would the chart's default clearing account."""
    from retailhub.domain.posting import PostingPolicy
    from retailhub.domain.posting_rules import PostingRule, RuleBook, TxType

    rule = PostingRule(TxType.WEB_SALE, date(2026, 1, 1), {"clearing": "Assets:Web-Clearing"})
    policy = PostingPolicy(book=RuleBook((rule,), "1"))
    assert policy.holds_money("Assets:Web-Clearing:Stripe")
    assert not policy.holds_money("Income:Sales")
    entry = JournalEntry(
        date(2026, 11, 20),
        "capture",
        SourceRef("order", "1"),
        (
            JournalLine("Assets:Web-Clearing:Stripe", 10000, "EUR"),
            JournalLine("Liabilities:Customer-Deposits", -10000, "EUR"),
        ),
        "capture",
    )
    restated = to_functional(entry, Decimal("1.10"), "USD", policy.accounts, policy.holds_money)
    assert restated is not None
    kept = {(ln.account, ln.currency): ln.amount for ln in restated.lines}
    assert kept[("Assets:Web-Clearing:Stripe", "EUR")] == 10000
    assert kept[("Liabilities:Customer-Deposits", "USD")] == -11000
