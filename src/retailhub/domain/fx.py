"""Foreign currency: rates by date, converting minor units, and entries restated in the
functional currency.

The books are kept in one *functional* currency (``[company] currency``). A fact in another
currency (a EUR order on a USD company) is restated at the rate of its date: every line is
converted, except lines on accounts that really hold money in that currency (a gateway's
clearing account, the bank when a payout is in that currency), which stay in it. Two lines on
the currency-conversion account then balance the entry in each currency, so the rounding of the
converted lines is absorbed there exactly (``to_functional``)::

    2026-10-30 Payment captured for order #1001 (EUR 100.00 at 1.10)
      Assets:Clearing:Stripe                 100.00 EUR
      Equity:Currency-Conversion            -100.00 EUR
      Equity:Currency-Conversion             110.00 USD
      Liabilities:Customer-Deposits         -110.00 USD

A rate is *functional units per one unit of the currency* (USD per EUR: 1.10), a ``Decimal``;
the rate of a date is the latest one on or before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.ledger import JournalEntry, JournalLine
from retailhub.domain.money import exponent, format_minor, scale


class RatesUnavailable(ValueError):
    """The rates could not be read (the rates file is missing or malformed): a data problem,
    put right by fixing the file, like a missing rate."""


class RateMissing(LookupError):
    """No rate for ``currency`` on or before ``on``: the fact cannot be restated yet."""

    def __init__(self, currency: str, on: date, source: str = "the rates file") -> None:
        super().__init__(
            f"no {currency} rate on or before {on.isoformat()} in {source}: "
            f"add a line '{on.isoformat()},{currency},<rate>' and retry"
        )
        self.currency = currency
        self.on = on


@dataclass(frozen=True)
class FxRates:
    """Rates into ``functional`` by currency and date; ``source`` names where they came from."""

    functional: str
    # currency -> (dates ascending, rates in the same order)
    _dates: Mapping[str, tuple[date, ...]] = field(default_factory=dict, repr=False)
    _rates: Mapping[str, tuple[Decimal, ...]] = field(default_factory=dict, repr=False)
    source: str = "the rates file"

    @classmethod
    def of(
        cls,
        functional: str,
        rows: Iterable[tuple[date, str, Decimal]],
        source: str = "the rates file",
    ) -> FxRates:
        """From ``(date, currency, rate)`` rows in any order; a later row for a date wins."""
        by_currency: dict[str, dict[date, Decimal]] = {}
        for on, currency, rate in rows:
            if rate <= 0:
                raise ValueError(f"{currency} rate on {on} must be positive, not {rate}")
            by_currency.setdefault(currency.upper(), {})[on] = rate
        dates = {c: tuple(sorted(r)) for c, r in by_currency.items()}
        rates = {c: tuple(by_currency[c][d] for d in dates[c]) for c in by_currency}
        return cls(functional.upper(), dates, rates, source)

    def find(self, currency: str, on: date) -> Decimal | None:
        """The latest rate on or before ``on`` (1 for the functional currency itself)."""
        if currency == self.functional:
            return Decimal(1)
        dates = self._dates.get(currency)
        if not dates:
            return None
        i = bisect.bisect_right(dates, on)
        return self._rates[currency][i - 1] if i else None

    def rate(self, currency: str, on: date) -> Decimal:
        found = self.find(currency, on)
        if found is None:
            raise RateMissing(currency, on, self.source)
        return found

    def value(self, minor: int, currency: str, on: date) -> int:
        """``minor`` units of ``currency`` in functional minor units at the rate of ``on``."""
        return convert(minor, currency, self.functional, self.rate(currency, on))

    def currencies(self) -> frozenset[str]:
        return frozenset(self._dates)


def convert(minor: int, from_currency: str, to_currency: str, rate: Decimal) -> int:
    """``minor`` units of ``from_currency`` at ``rate`` (``to`` per one ``from``), in minor
    units of ``to_currency``, rounded half-even. Each currency keeps its ISO 4217 exponent:
    EUR 100.00 (10000) at 160.25 JPY is JPY 16025 (16025); JPY 1000 at 0.0062 USD is USD 6.20.
    """
    shift = exponent(to_currency) - exponent(from_currency)
    return scale(minor, rate.scaleb(shift))


def to_functional(
    entry: JournalEntry,
    rate: Decimal,
    functional: str,
    accounts: ChartOfAccounts,
    holds_money: Callable[[str], bool] | None = None,
) -> JournalEntry | None:
    """``entry`` (in one foreign currency) restated in ``functional`` at ``rate``.

    Lines on money-holding accounts (``holds_money``, by default the chart's) stay in the foreign
    currency; every other line is converted. The currency-conversion account takes the
    opposite of what stayed foreign (in that currency) and of what the converted lines add up
    to (in the functional currency), so the entry balances in each currency and the rounding
    of the converted lines is absorbed exactly. An entry already in ``functional`` is returned
    as it is; one worth nothing once converted (a yen at a tiny rate) is None.
    """
    foreign = {line.currency for line in entry.lines} - {functional}
    if not foreign:
        return entry
    if len(foreign) > 1:
        raise ValueError(
            f"{entry.memo}: lines in {sorted(foreign)}: restate one currency at a time"
        )
    (currency,) = foreign
    keeps = holds_money or accounts.holds_money
    kept: list[JournalLine] = []
    converted: list[JournalLine] = []
    for line in entry.lines:
        if line.currency == functional or keeps(line.account):
            kept.append(line)
            continue
        amount = convert(line.amount, currency, functional, rate)
        if amount:
            converted.append(replace(line, amount=amount, currency=functional))
    lines = [*kept, *converted]
    channel = entry.lines[0].channel
    held = sum(line.amount for line in lines if line.currency == currency)
    memo = f"{format_minor(abs(held), currency)} {currency} at {rate}" if held else f"at {rate}"
    for ccy in (currency, functional):
        residual = sum(line.amount for line in lines if line.currency == ccy)
        if residual:
            lines.append(
                JournalLine(accounts.currency_conversion, -residual, ccy, memo, channel=channel)
            )
    return replace(entry, lines=tuple(lines)) if lines else None
