"""Posting a settlement: the gateway's clearing account into the bank, period by period, in the
functional currency.

* A settlement clears the gateway's clearing account for what it paid out (charges less
  refunds and chargebacks), books fees, marketplace commissions, reserves held or released and
  other adjustments to their own accounts, and debits the bank with the net deposit. Because
  a settlement's lines sum to its total, the entry always balances; what stays in clearing
  afterwards is exactly what was captured and not (yet) paid out.
* A settlement that crosses a month end — its lines fall in more than one calendar month
  (their transaction dates in the company's time zone), or in a month before the one its
  deposit lands in — is posted as one entry per month, for that month's lines, dated
  the month's last line date and debiting payouts in transit instead of the bank; one more
  entry on the deposit date moves the whole payout from payouts in transit to the bank. So
  October's fees are October's expense even when the payout lands in November, and the
  transit account is empty once the money has arrived. Idempotency keys per part:
  ``settlement:2026-10``, ``settlement:2026-11``, ``settlement:payout``.
* Realised exchange differences: when the gateway paid out in the settlement currency a charge
  the hub booked in the customer's currency (a EUR charge paid out in USD), the clearing
  account is credited in the customer's currency for what it held, and the currency-conversion
  account gives up that amount at its book value (the rate of the line's transaction date,
  the rate the capture was restated at). What the payout brought in, valued in the functional
  currency, less that book value is the realised gain or loss::

      2026-11-04 Settlement stripe po_1 (EUR 100.00 booked at 1.10, paid out as USD 108.00)
        Assets:Clearing:Stripe                -100.00 EUR
        Equity:Currency-Conversion             100.00 EUR
        Equity:Currency-Conversion            -110.00 USD
        Expenses:Payment-Fees:Stripe             3.50 USD
        Assets:Bank                            104.50 USD
        Income:FX-Gains-Losses                   2.00 USD    (a loss: debit)

  A settlement with no converted line is built in its own currency; when that is not the
  functional currency the entry is restated at the deposit date's rate like any other
  (``fx.to_functional``): the bank and clearing keep the foreign amounts, nothing is realised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, tzinfo

from retailhub.domain.accounts import ChartOfAccounts
from retailhub.domain.fx import FxRates
from retailhub.domain.ledger import EntryBuilder, JournalEntry, JournalLine, SourceRef
from retailhub.domain.money import format_minor
from retailhub.domain.posting import PostingPolicy
from retailhub.domain.posting_rules import TxType
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

PAYOUT_RULE = "settlement:payout"


def settlement_account(
    acc: ChartOfAccounts,
    kind: LineKind,
    gateway: str,
    policy: PostingPolicy,
    on: date,
) -> str:
    """The account a settlement line's amount goes to (``acc``: the settlement rule's). Fees
    follow the ``fee`` rule in force and commissions the ``marketplace_commission`` rule."""
    if kind is LineKind.FEE:
        fees = policy.rule(TxType.FEE, on).accounts
        return fees.per_gateway(fees.payment_fees, gateway)
    if kind is LineKind.COMMISSION:
        commissions = policy.rule(TxType.MARKETPLACE_COMMISSION, on).accounts
        return commissions.per_gateway(commissions.commissions, gateway)
    if kind is LineKind.RESERVE:
        return acc.per_gateway(acc.reserves, gateway)
    if kind is LineKind.ADJUSTMENT:
        return acc.per_gateway(acc.settlement_adjustments, gateway)
    return acc.clearing_for(gateway)  # charges, refunds, chargebacks and their reversals


@dataclass(frozen=True, slots=True)
class MonthPart:
    month: str  # "2026-10"
    last_day: date  # the last transaction date of the month's lines: the part's entry date
    lines: tuple[SettlementLine, ...]


def month_parts(lines: Sequence[SettlementLine], tz: tzinfo) -> list[MonthPart]:
    """The lines grouped by the calendar month of their transaction date in ``tz``, in order."""
    by_month: dict[str, list[tuple[date, SettlementLine]]] = defaultdict(list)
    for line in lines:
        day = line.occurred_at.astimezone(tz).date()
        by_month[f"{day.year:04d}-{day.month:02d}"].append((day, line))
    return [
        MonthPart(month, max(day for day, _ in dated), tuple(line for _, line in dated))
        for month, dated in sorted(by_month.items())
    ]


def settlement_entries(
    s: Settlement,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    tz: tzinfo = UTC,
    rates: FxRates | None = None,
) -> list[JournalEntry]:
    """The settlement's entries: one, or one per month plus the payout (module docstring).

    ``on`` is the deposit date. ``rates`` are needed when a line is ``converted`` (and kept so
    by the caller because the hub booked that payment in the customer's currency).
    """
    parts = month_parts(s.lines, tz)
    if len(parts) == 0 or (len(parts) == 1 and parts[0].month == f"{on:%Y-%m}"):
        entry = settlement(s, policy, on, source, tz, rates)
        return [entry] if entry is not None else []
    if s.unexplained:
        raise ValueError(f"settlement {s.settlement_id}: lines do not add up to its total")
    entries = [
        _clear(
            s,
            part.lines,
            policy,
            part.last_day,
            source,
            f"settlement:{part.month}",
            f"Settlement {s.gateway} {s.settlement_id}: {part.month} transactions",
            tz,
            rates,
            in_transit=True,
        )
        for part in parts
    ]
    rule = policy.rule(TxType.SETTLEMENT, on)
    acc = rule.accounts
    b = EntryBuilder(s.currency)
    b.debit(acc.bank, s.total, f"{s.gateway} payout {s.settlement_id}")
    b.credit(acc.payouts_in_transit, s.total, f"{s.gateway} payout {s.settlement_id}")
    memo = f"Settlement {s.gateway} {s.settlement_id}: payout"
    entries.append(rule.finish(b.build(on, memo, source, PAYOUT_RULE)))
    return [e for e in entries if e is not None]


def settlement(
    s: Settlement,
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    tz: tzinfo = UTC,
    rates: FxRates | None = None,
) -> JournalEntry | None:
    """The whole settlement as one entry into the bank, dated ``on`` (the deposit date)."""
    memo = f"Settlement {s.gateway} {s.settlement_id}"
    return _clear(s, s.lines, policy, on, source, "settlement", memo, tz, rates, total=s.total)


def _clear(
    s: Settlement,
    lines: Sequence[SettlementLine],
    policy: PostingPolicy,
    on: date,
    source: SourceRef,
    rule_name: str,
    memo: str,
    tz: tzinfo,
    rates: FxRates | None,
    total: int | None = None,
    in_transit: bool = False,
) -> JournalEntry | None:
    """Clear ``lines`` into the bank (or payouts in transit) with ``total`` (their sum)."""
    rule = policy.rule(TxType.SETTLEMENT, on)
    acc = rule.accounts
    into = acc.payouts_in_transit if in_transit else acc.bank
    paid = sum(line.amount for line in lines) if total is None else total
    accounts = {kind: settlement_account(acc, kind, s.gateway, policy, on) for kind in LineKind}
    if any(line.converted for line in lines):
        if rates is None:
            raise ValueError(f"{memo}: converted lines need exchange rates")
        entry = _realised(
            s, lines, into, paid, accounts, acc, on, source, rule_name, memo, tz, rates
        )
        return rule.finish(entry)
    b = EntryBuilder(s.currency)
    by_kind: dict[LineKind, int] = defaultdict(int)
    for line in lines:
        by_kind[line.kind] += line.amount
    for kind, amount in sorted(by_kind.items()):
        # A line's amount is money to the merchant: crediting its account by that amount
        # takes a charge out of clearing and debits a (negative) fee to expense.
        b.credit(accounts[kind], amount, kind.value)
    b.debit(into, paid, f"{s.gateway} payout {s.settlement_id}")
    return rule.finish(b.build(on, memo, source, rule_name))


_Key = tuple[str, str, str | None]  # account, currency, memo


def _realised(
    s: Settlement,
    lines: Sequence[SettlementLine],
    into: str,
    paid: int,
    accounts: Mapping[LineKind, str],
    acc: ChartOfAccounts,
    on: date,
    source: SourceRef,
    rule: str,
    memo: str,
    tz: tzinfo,
    rates: FxRates,
) -> JournalEntry:
    """The entry of a settlement some of whose lines the gateway converted (docstring).

    Every line is first written in the currency the money is in: a converted line clears in
    the customer's currency, the rest in the settlement currency. Lines on money-holding
    accounts stay in their currency and carry their functional value (clearing at the rate of
    the line's transaction date, the bank or payouts in transit at the rate of ``on``); other
    foreign lines are converted at the rate of ``on``. The conversion account balances every
    foreign currency and takes the kept lines' functional value; what is left in the
    functional currency is the realised difference.
    """
    functional = rates.functional
    amounts: dict[_Key, int] = defaultdict(int)
    values: dict[_Key, int] = defaultdict(int)

    def add(account: str, amount: int, currency: str, note: str | None, value: int) -> None:
        amounts[(account, currency, note)] += amount
        values[(account, currency, note)] += value

    for line in lines:
        account = accounts[line.kind]
        currency, amount = s.currency, -line.amount  # credited: money to the merchant
        if line.converted and line.original_amount is not None:
            currency, amount = str(line.original_currency), -line.original_amount
        if currency == functional:
            add(account, amount, currency, line.kind.value, amount)
        elif acc.holds_money(account):
            # Clearing gives up a payment at the rate its capture was restated at.
            booked = line.occurred_at.astimezone(tz).date() if line.matchable else on
            add(account, amount, currency, line.kind.value, rates.value(amount, currency, booked))
        else:
            value = rates.value(amount, currency, on)
            add(account, value, functional, line.kind.value, value)
    paid_value = paid if s.currency == functional else rates.value(paid, s.currency, on)
    add(into, paid, s.currency, f"{s.gateway} payout {s.settlement_id}", paid_value)

    out = [
        JournalLine(account, amount, currency, note)
        for (account, currency, note), amount in amounts.items()
        if amount
    ]
    held: dict[str, int] = defaultdict(int)
    book = 0
    for (account, currency, note), amount in amounts.items():
        if currency != functional:
            held[currency] += amount
            book += values[(account, currency, note)]
    for currency, amount in sorted(held.items()):
        if amount:
            out.append(
                JournalLine(
                    acc.currency_conversion,
                    -amount,
                    currency,
                    f"{format_minor(abs(amount), currency)} {currency} at book value",
                )
            )
    if book:
        out.append(JournalLine(acc.currency_conversion, book, functional, "book value"))
    difference = -sum(line.amount for line in out if line.currency == functional)
    if difference:
        word = "loss" if difference > 0 else "gain"
        out.append(
            JournalLine(acc.fx_gains_losses, difference, functional, f"realised exchange {word}")
        )
    return JournalEntry(on, memo, source, tuple(out), rule)
