"""Financial reports from the built-in general ledger, aggregated in the database.

A small retailer without an ERP reads its books here: income statement, balance sheet,
profit by channel or location, sales-tax liability by jurisdiction and the gift-card liability
roll-forward. Every figure is a ``GROUP BY`` over ``journal_lines`` (signed integer minor
units: debit +, credit −), so the reports stay fast at millions of lines and agree with the
trial balance by construction. Periods are half-open ``[start, end)`` dates on
``journal_entries.entry_date``; ``None`` means unbounded. Results are per currency: journals
balance in each currency, and amounts in different currencies are never added together.

Signs: the reports show each section in its natural sign — income, liabilities and equity
(credit balances) as positive numbers, assets and expenses (debit balances) as positive numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import journal_entries, journal_lines
from retailhub.domain.accounts import AccountType, ChartOfAccounts

NONE_LABEL = "(none)"  # lines without the dimension asked for
DIMENSIONS = ("channel", "location")

_l = journal_lines.c
_e = journal_entries.c


class ReportError(Exception):
    """The books cannot produce the report (for example an unbalanced balance sheet)."""


def _of_type(*types: AccountType) -> ColumnElement[bool]:
    """Lines whose account's first segment is one of ``types`` (``Income`` or ``Income:…``)."""
    return or_(*(or_(_l.account == t.value, _l.account.like(f"{t.value}:%")) for t in types))


def _in_period(start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if start is not None:
        out.append(_e.entry_date >= start)
    if end is not None:
        out.append(_e.entry_date < end)
    return out


def _joined() -> Any:
    return journal_lines.join(journal_entries, journal_entries.c.id == journal_lines.c.entry_id)


# -- income statement -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountAmount:
    account: str
    amount: int  # in the section's natural sign (see the module docstring)


@dataclass(slots=True)
class IncomeStatement:
    currency: str
    income: list[AccountAmount] = field(default_factory=list)
    expenses: list[AccountAmount] = field(default_factory=list)

    @property
    def total_income(self) -> int:
        return sum(a.amount for a in self.income)

    @property
    def total_expenses(self) -> int:
        return sum(a.amount for a in self.expenses)

    @property
    def net_income(self) -> int:
        return self.total_income - self.total_expenses

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "income": {a.account: a.amount for a in self.income},
            "expenses": {a.account: a.amount for a in self.expenses},
            "total_income": self.total_income,
            "total_expenses": self.total_expenses,
            "net_income": self.net_income,
        }


def income_statement(
    conn: Connection, start: date | None, end: date | None
) -> dict[str, IncomeStatement]:
    """Income (credits shown positive) and expenses of entries dated in ``[start, end)``."""
    stmt = (
        select(_l.account, _l.currency, func.sum(_l.amount))
        .select_from(_joined())
        .where(_of_type(AccountType.INCOME, AccountType.EXPENSES), *_in_period(start, end))
        .group_by(_l.account, _l.currency)
        .order_by(_l.currency, _l.account)
    )
    out: dict[str, IncomeStatement] = {}
    for account, currency, total in conn.execute(stmt):
        balance = int(total or 0)
        report = out.setdefault(currency, IncomeStatement(currency))
        if account.split(":", 1)[0] == AccountType.INCOME.value:
            report.income.append(AccountAmount(account, -balance))
        else:
            report.expenses.append(AccountAmount(account, balance))
    return out


# -- balance sheet --------------------------------------------------------------------------

CURRENT_EARNINGS = "Equity:Current-Year-Earnings"
RETAINED_EARNINGS = "Equity:Retained-Earnings"


@dataclass(slots=True)
class BalanceSheet:
    currency: str
    as_of: date
    assets: list[AccountAmount] = field(default_factory=list)
    liabilities: list[AccountAmount] = field(default_factory=list)
    equity: list[AccountAmount] = field(default_factory=list)  # earnings lines included

    @property
    def total_assets(self) -> int:
        return sum(a.amount for a in self.assets)

    @property
    def total_liabilities(self) -> int:
        return sum(a.amount for a in self.liabilities)

    @property
    def total_equity(self) -> int:
        return sum(a.amount for a in self.equity)

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities + self.total_equity

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "as_of": self.as_of.isoformat(),
            "assets": {a.account: a.amount for a in self.assets},
            "liabilities": {a.account: a.amount for a in self.liabilities},
            "equity": {a.account: a.amount for a in self.equity},
            "total_assets": self.total_assets,
            "total_liabilities": self.total_liabilities,
            "total_equity": self.total_equity,
            "balanced": self.balanced,
        }


def balance_sheet(conn: Connection, as_of: date) -> dict[str, BalanceSheet]:
    """Balances of every entry dated up to and including ``as_of``.

    The ledger has no closing entries, so income and expenses to date are shown inside equity:
    those of earlier years as retained earnings, those since 1 January of ``as_of``'s year as
    current-year earnings. Raises ``ReportError`` if assets ≠ liabilities + equity in a
    currency (only possible if an unbalanced entry reached the journal).
    """
    year_start = date(as_of.year, 1, 1)
    end = as_of + timedelta(days=1)
    stmt = (
        select(
            _l.account,
            _l.currency,
            func.sum(case((_e.entry_date < year_start, _l.amount), else_=0)),
            func.sum(_l.amount),
        )
        .select_from(_joined())
        .where(_e.entry_date < end)
        .group_by(_l.account, _l.currency)
        .order_by(_l.currency, _l.account)
    )
    out: dict[str, BalanceSheet] = {}
    earnings: dict[str, tuple[int, int]] = {}  # currency: (retained, current), credit-positive
    for account, currency, prior_sum, total in conn.execute(stmt):
        sheet = out.setdefault(currency, BalanceSheet(currency, as_of))
        balance = int(total or 0)
        kind = account.split(":", 1)[0]
        if kind in (AccountType.INCOME.value, AccountType.EXPENSES.value):
            retained, current = earnings.get(currency, (0, 0))
            prior = -int(prior_sum or 0)
            earnings[currency] = (retained + prior, current - balance - prior)
            continue
        if kind == AccountType.ASSETS.value:
            sheet.assets.append(AccountAmount(account, balance))
        elif kind == AccountType.LIABILITIES.value:
            sheet.liabilities.append(AccountAmount(account, -balance))
        else:  # Equity, and any account outside the five types, so nothing goes missing
            sheet.equity.append(AccountAmount(account, -balance))
    for currency, sheet in out.items():
        retained, current = earnings.get(currency, (0, 0))
        if retained:
            sheet.equity.append(AccountAmount(RETAINED_EARNINGS, retained))
        sheet.equity.append(AccountAmount(CURRENT_EARNINGS, current))  # always shown, even 0
        for section in (sheet.assets, sheet.liabilities, sheet.equity):
            section.sort(key=lambda a: a.account)
        if not sheet.balanced:
            raise ReportError(
                f"balance sheet in {sheet.currency} as of {as_of.isoformat()} does not balance: "
                f"assets {sheet.total_assets} ≠ liabilities {sheet.total_liabilities} + equity "
                f"{sheet.total_equity} (minor units); run 'retailhub ledger trial-balance'"
            )
    return out


# -- profit by channel or location ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentProfit:
    segment: str  # the channel or location code, or NONE_LABEL
    currency: str
    income: int
    expenses: int

    @property
    def profit(self) -> int:
        return self.income - self.expenses

    def as_json(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "currency": self.currency,
            "income": self.income,
            "expenses": self.expenses,
            "profit": self.profit,
        }


def profit_by(
    conn: Connection, dimension: str, start: date | None, end: date | None
) -> list[SegmentProfit]:
    """Income − expenses (COGS included) per line ``channel`` or ``location`` in the period."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"profit by {dimension!r}: use one of {', '.join(DIMENSIONS)}")
    dim = _l.channel if dimension == "channel" else _l.location
    is_income = _of_type(AccountType.INCOME)
    stmt = (
        select(
            dim,
            _l.currency,
            func.sum(case((is_income, -_l.amount), else_=0)),
            func.sum(case((is_income, 0), else_=_l.amount)),
        )
        .select_from(_joined())
        .where(_of_type(AccountType.INCOME, AccountType.EXPENSES), *_in_period(start, end))
        .group_by(dim, _l.currency)
        .order_by(_l.currency, dim)
    )
    return [
        SegmentProfit(segment or NONE_LABEL, currency, int(income or 0), int(expenses or 0))
        for segment, currency, income, expenses in conn.execute(stmt)
    ]


# -- roll-forwards: sales tax by jurisdiction, gift cards ------------------------------------


def _opening_and_period(start: date | None) -> tuple[ColumnElement[Any], ColumnElement[bool]]:
    """SQL for "before the period" (opening) and "in the period" on entries already < end."""
    if start is None:
        return false(), true()
    return _e.entry_date < start, _e.entry_date >= start


@dataclass(frozen=True, slots=True)
class TaxLiability:
    jurisdiction: str
    account: str
    currency: str
    opening: int  # liability, credit-positive
    collected: int  # credits in the period
    refunded: int  # debits in the period: refunds, reversals (and remittances, if booked)

    @property
    def closing(self) -> int:
        return self.opening + self.collected - self.refunded

    def as_json(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "account": self.account,
            "currency": self.currency,
            "opening": self.opening,
            "collected": self.collected,
            "refunded": self.refunded,
            "closing": self.closing,
        }


def sales_tax(
    conn: Connection, chart: ChartOfAccounts, start: date | None, end: date | None
) -> list[TaxLiability]:
    """Sales-tax liability per jurisdiction account: opening, collected, refunded, closing.

    Tax accounts are those under ``chart.sales_tax`` (``Liabilities:Sales-Tax:<Jurisdiction>``)
    plus any the configuration maps explicitly in ``[accounts.jurisdictions]``.
    """
    mapped: Mapping[str, str] = {account: name for name, account in chart.jurisdictions.items()}
    is_tax = or_(_l.account.like(f"{chart.sales_tax}:%"), _l.account.in_(list(mapped) or [""]))
    before, during = _opening_and_period(start)
    stmt = (
        select(
            _l.account,
            _l.currency,
            func.sum(case((before, _l.amount), else_=0)),
            func.sum(case((and_(during, _l.amount < 0), -_l.amount), else_=0)),
            func.sum(case((and_(during, _l.amount > 0), _l.amount), else_=0)),
        )
        .select_from(_joined())
        .where(is_tax, *_in_period(None, end))
        .group_by(_l.account, _l.currency)
        .order_by(_l.currency, _l.account)
    )
    prefix = chart.sales_tax + ":"
    out = []
    for account, currency, opening, credits, debits in conn.execute(stmt):
        name = mapped.get(account) or account.removeprefix(prefix)
        out.append(
            TaxLiability(
                name, account, currency, -int(opening or 0), int(credits or 0), int(debits or 0)
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class GiftCardRollForward:
    account: str
    currency: str
    opening: int  # liability, credit-positive
    issued: int  # credits: cards sold, refunds to a gift card
    redeemed: int  # net debits of tender captures (rule ``capture:…``)
    breakage: int  # net debits of breakage entries (rule ``breakage:…``)
    other: int  # any other debit (a gift-card sale refunded, a daily summary's net debit)

    @property
    def closing(self) -> int:
        return self.opening + self.issued - self.redeemed - self.breakage - self.other

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "currency": self.currency,
            "opening": self.opening,
            "issued": self.issued,
            "redeemed": self.redeemed,
            "breakage": self.breakage,
            "other": self.other,
            "closing": self.closing,
        }


def gift_cards(
    conn: Connection, chart: ChartOfAccounts, start: date | None, end: date | None
) -> list[GiftCardRollForward]:
    """The gift-card liability roll-forward, classified by the posting rule of each entry.

    ``domain/payment_posting.py`` posts a gift-card tender as a debit of the liability under
    rule ``capture:<total>`` and proportional breakage under ``breakage:<redeemed>``; their
    reversals (``…:reversal``) net against them. Entries of daily-summary channels are netted
    per account by ``services/summaries.py`` and lose their rule: their net credit counts as
    issued and their net debit as ``other``.
    """
    before, during = _opening_and_period(start)
    is_breakage = _e.rule.like("breakage:%")
    is_capture = _e.rule.like("capture:%")
    rest = and_(during, ~is_breakage, ~is_capture)
    stmt = (
        select(
            _l.currency,
            func.sum(case((before, _l.amount), else_=0)),
            func.sum(case((and_(rest, _l.amount < 0), -_l.amount), else_=0)),
            func.sum(case((and_(during, is_capture), _l.amount), else_=0)),
            func.sum(case((and_(during, is_breakage), _l.amount), else_=0)),
            func.sum(case((and_(rest, _l.amount > 0), _l.amount), else_=0)),
        )
        .select_from(_joined())
        .where(_l.account == chart.gift_cards, *_in_period(None, end))
        .group_by(_l.currency)
        .order_by(_l.currency)
    )
    return [
        GiftCardRollForward(
            chart.gift_cards,
            currency,
            -int(opening or 0),
            int(issued or 0),
            int(redeemed or 0),
            int(breakage or 0),
            int(other or 0),
        )
        for currency, opening, issued, redeemed, breakage, other in conn.execute(stmt)
    ]
