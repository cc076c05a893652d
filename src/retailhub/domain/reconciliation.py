"""Reconciliation: did every payment reach a payout, and every payout the bank?

Two questions finance asks before it can close a month.

1. **Receipts against settlement lines** (``reconcile``). Each capture, refund or chargeback the
   hub recorded is an ``ExpectedReceipt``; each gateway payout lists ``SettlementLine`` s. Lines
   that mirror a payment (charges, refunds, chargebacks and their reversals) are *matched*;
   fees, commissions, reserves and adjustments are *recognised* (posted, nothing to match).
   Matching runs in passes, each only over what the earlier passes left, inside one gateway and
   one currency:

   ====  ==================  ===============================================================
   pass  method              pairs
   ====  ==================  ===============================================================
   1     ``transaction_id``  lines and receipts carrying the same gateway id, summed per id
   2     ``order_ref``       lines and receipts with the same order reference, summed
   3     ``amount_date``     one line, one receipt: amount within tolerance, date in window
   4     ``batch``           one line, several receipts of one day adding up to it
   ====  ==================  ===============================================================

   Passes 1 and 2 group per id *and direction*: money in (capture, chargeback reversal / charge,
   chargeback reversal) apart from money out (refund, chargeback). The direction comes from the
   kind, not the sign of the amount, so Amazon's negative ``Promotion`` row (a CHARGE line)
   stays with its order's capture, while a refund that shares its order id with the capture
   (Amazon's ``Refund`` rows, Adyen's ``Refunded`` rows that repeat the payment's PSP
   reference) is matched against the refund. A group whose sides differ by more than
   ``MatchPolicy.amount_tolerance`` is a VARIANCE: paired for sure, but someone must explain
   the difference. Passes 3 and 4 never pair two sides that both carry a transaction id (or
   both an order reference) and disagree: the ids say they are two payments.

   A line the gateway converted (a EUR charge paid out in USD) is matched in the currency the
   customer paid and the hub booked (its ``original_amount`` / ``original_currency``): the
   receipt says EUR 62.35, so the line's EUR 62.35 is what to compare, not the USD it became.
   The conversion itself is the settlement entry's realised FX difference, not a variance.

   Left over, a line is UNKNOWN (the gateway paid out money the hub never saw; the lines of one
   transaction id or order reference are one such item, of their total) and a receipt is
   MISSING when the gateway has already settled past the date its line was due (the latest
   line of that gateway in this run is later than ``occurred_at + date_window_days``; with no
   line at all of that gateway, ``as_of`` later than that date), else PENDING (not due yet).

2. **Payouts against bank deposits** (``match_deposits``): a payout is only money once it has
   landed on the bank statement.

Everything is integer minor units; ``match_rate`` is a ``Fraction``. The engine reads no clock
(``as_of`` is passed in) and its result does not depend on the order of its inputs: receipts
are put in a canonical order, the lines the id passes leave are taken in time order, and every
choice between candidates is broken on a stated key.

Cost, for n receipts and lines: one sort of the receipts on their id and dictionary passes that
touch each item a constant number of times (passes 1, 2); a sort of what is left by time; the
fuzzy pass probes ``2·tolerance + 1`` amounts per line (above ``_PROBE_LIMIT`` it bisects the
sorted amounts instead) and bisects each amount's date-sorted receipts; the batch pass tries at
most 2**``batch_max_items`` subsets per group (4096 for 12), once per group until it changes.
``bench/reconcile.py`` runs a million receipts against a million lines in about 7 s and under
300 MiB of working memory on a shared 2-core machine.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import cache
from itertools import islice
from operator import attrgetter, eq
from typing import Any, Literal, Protocol, TypeVar

from retailhub.domain.bank import BankLine
from retailhub.domain.money import format_minor
from retailhub.domain.payments import UNSETTLED_METHODS, ExpectedReceipt, PaymentKind
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine

__all__ = [
    "DEPOSIT_KEYWORDS",
    "UNSETTLED_GATEWAYS",
    "DepositMatch",
    "MatchPolicy",
    "Outcome",
    "ReconItem",
    "Reconciliation",
    "match_deposits",
    "reconcile",
]

# Receipts of these gateways never reach a settlement file: the money is in the till, or it
# moves between the retailer's own liabilities (gift cards, store credit). They are recognised by
# the receipt's *gateway name*, compared case-insensitively: the ``TenderMethod`` values of
# ``UNSETTLED_METHODS`` ("cash", "gift_card", "store_credit"), which is what connectors write as
# the gateway of such tenders (``Tender.gateway``; the demo POS writes "cash"), plus "manual" for
# payments recorded by hand. Shopify names a merchant's own manual payment methods by their
# display name ("Cash on Delivery (COD)", "Bank Deposit"; community.shopify.com thread 755662:
# only manual methods' names are merchant-defined), so a deployment adds those it uses to
# ``MatchPolicy.unsettled_gateways``.
UNSETTLED_GATEWAYS: frozenset[str] = frozenset(m.value for m in UNSETTLED_METHODS) | {"manual"}

# Words that mark a bank credit as a gateway payout, for flagging deposits no settlement
# explains. Lower case, matched as substrings of the lower-cased bank reference and counterparty.
DEPOSIT_KEYWORDS: frozenset[str] = frozenset(
    {"stripe", "amazon", "amzn", "adyen", "paypal", "shopify", "square", "klarna"}
)

# Above this many amounts to probe (2 · tolerance + 1) the fuzzy pass bisects the sorted list
# of a scope's amounts instead of looking each candidate amount up.
_PROBE_LIMIT = 32
# A hard ceiling on the batch subset search: 2**n sums per group.
_BATCH_CEILING = 16


class Outcome(StrEnum):
    MATCHED = "matched"
    MISSING = "missing_from_settlement"  # paid, due, and in no settlement
    UNKNOWN = "unknown_in_settlement"  # settled, and the hub knows no such payment
    VARIANCE = "amount_variance"  # paired by id or reference, amounts differ
    PENDING = "pending"  # not in a settlement yet, and not due yet


@dataclass(frozen=True)
class MatchPolicy:
    """How close is close enough.

    ``amount_tolerance`` (minor units, absolute) is the single line between MATCHED and
    VARIANCE, and how far apart a fuzzy pair's amounts may be. There is deliberately no second
    "variance tolerance": a pair found by id or order reference is the same payment whatever
    the amounts say, so every difference above the rounding tolerance is a variance someone
    must explain, and none is waved through as a percentage.

    A settlement line may come ``date_window_days`` after its receipt (payout delay) or
    ``days_before`` before it (time zones, a capture recorded late). ``batch_max_items`` bounds
    the subset search of the batch pass. A payout may reach the bank ``deposit_days_before``
    before or ``deposit_days_after`` after its deposit date.
    """

    amount_tolerance: int = 0
    date_window_days: int = 7
    days_before: int = 1
    batch_max_items: int = 12
    fuzzy_pick: Literal["earliest", "closest"] = "earliest"  # see _Run.by_amount_and_date
    deposit_days_before: int = 1
    deposit_days_after: int = 5
    unsettled_gateways: frozenset[str] = UNSETTLED_GATEWAYS
    deposit_keywords: frozenset[str] = DEPOSIT_KEYWORDS

    def __post_init__(self) -> None:
        for name in (
            "amount_tolerance",
            "date_window_days",
            "days_before",
            "batch_max_items",
            "deposit_days_before",
            "deposit_days_after",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"MatchPolicy.{name} must be a whole number ≥ 0, got {value!r}")
        if self.fuzzy_pick not in ("earliest", "closest"):
            raise ValueError(
                f'MatchPolicy.fuzzy_pick must be "earliest" or "closest", got {self.fuzzy_pick!r}'
            )
        if self.batch_max_items > _BATCH_CEILING:
            raise ValueError(
                f"MatchPolicy.batch_max_items is at most {_BATCH_CEILING} "
                f"(the search tries 2**n subsets), got {self.batch_max_items}"
            )


@dataclass(frozen=True, slots=True)
class ReconItem:
    """One finding: receipts and the settlement lines that paid them out (either side may be empty)."""

    outcome: Outcome
    gateway: str
    currency: str
    method: str  # "transaction_id" | "order_ref" | "amount_date" | "batch" | "" when unmatched
    receipts: tuple[ExpectedReceipt, ...]
    lines: tuple[SettlementLine, ...]
    expected: int  # sum of the receipts, minor units
    settled: int  # sum of the lines, minor units

    @property
    def variance(self) -> int:
        return self.settled - self.expected


@dataclass
class Reconciliation:
    """The result of one run: every matchable line and every settle-able receipt in one item."""

    items: list[ReconItem]
    recognised: list[SettlementLine]  # fees, commissions, reserves, adjustments
    ignored: list[ExpectedReceipt] = field(default_factory=list)  # cash, gift card, … tenders

    @property
    def match_rate(self) -> Fraction | None:
        """Share of matchable settlement lines in a MATCHED item; None when there were none.

        VARIANCE lines are paired but not counted as matched: the rate is the share finance
        does not have to look at.
        """
        total = matched = 0
        for item in self.items:
            n = len(item.lines)
            total += n
            if item.outcome is Outcome.MATCHED:
                matched += n
        return Fraction(matched, total) if total else None

    def counts(self) -> dict[Outcome, int]:
        """Items per outcome, every outcome present."""
        counts = dict.fromkeys(Outcome, 0)
        for item in self.items:
            counts[item.outcome] += 1
        return counts

    def unmatched(self) -> list[ReconItem]:
        """Items with only one side: UNKNOWN lines, MISSING and PENDING receipts."""
        return [item for item in self.items if not item.method]

    def problems(self) -> list[Problem]:
        """The findings a person must look at, as exception-queue problems (advisory)."""
        return [_problem(item) for item in self.items if item.outcome in _PROBLEM_TYPES]


_PROBLEM_TYPES: dict[Outcome, ProblemType] = {
    Outcome.MISSING: ProblemType.MISSING_FROM_SETTLEMENT,
    Outcome.UNKNOWN: ProblemType.UNKNOWN_IN_SETTLEMENT,
    Outcome.VARIANCE: ProblemType.SETTLEMENT_VARIANCE,
}


def _describe_receipt(r: ExpectedReceipt) -> str:
    ids = ", ".join(
        f"{name} {value}"
        for name, value in (("transaction", r.transaction_id), ("order", r.order_ref))
        if value
    )
    money = f"{format_minor(r.amount, r.currency)} {r.currency}"
    return f"{r.kind.value} {r.receipt_id or '(no id)'} of {money} on {r.occurred_at:%Y-%m-%d}" + (
        f" ({ids})" if ids else ""
    )


def _describe_line(ln: SettlementLine) -> str:
    ref = ln.transaction_id or ln.order_ref
    money = f"{format_minor(ln.amount, ln.currency)} {ln.currency}"
    where = f"settlement {ln.settlement_id} line {ln.line_no}"
    return f"{where}: {ln.kind.value} of {money}" + (f" ({ref})" if ref else "")


def _problem(item: ReconItem) -> Problem:
    gw = item.gateway
    subject: str | None
    if item.outcome is Outcome.UNKNOWN:
        ln = item.lines[0]
        reason = (
            f"{gw} "
            + "; ".join(_describe_line(x) for x in item.lines)
            + (
                f" (together {format_minor(item.settled, item.currency)} {item.currency})"
                if len(item.lines) > 1
                else ""
            )
            + " matches no payment the hub knows about"
        )
        subject = f"settlement:{gw}:{ln.settlement_id}:{ln.line_no}"
    elif item.outcome is Outcome.MISSING:
        r = item.receipts[0]
        reason = (
            f"{gw} {_describe_receipt(r)} is in no settlement line and is overdue: the "
            "gateway has settled past the day it was due, or sent no settlement since"
        )
        subject = f"receipt:{r.receipt_id}"
    else:
        fmt = item.currency
        reason = (
            f"{gw} payments matched by {item.method.replace('_', ' ')} differ: expected "
            f"{format_minor(item.expected, fmt)}, settled {format_minor(item.settled, fmt)} "
            f"{fmt} (variance {format_minor(item.variance, fmt)}); receipts: "
            + "; ".join(_describe_receipt(r) for r in item.receipts)
            + "; lines: "
            + "; ".join(_describe_line(ln) for ln in item.lines)
        )
        subject = f"receipt:{item.receipts[0].receipt_id}" if item.receipts else None
    amount = abs(item.variance)
    return Problem(_PROBLEM_TYPES[item.outcome], reason, False, subject, amount)


# ---------------------------------------------------------------------------------------------
# Receipts against settlement lines


# True for money in (capture-like), False for money out (refund-like). A line kind that is not
# here is not matchable: it is recognised (settlements.MATCHABLE lists the same four kinds).
_RECEIPT_INBOUND: dict[PaymentKind, bool] = {
    PaymentKind.CAPTURE: True,
    PaymentKind.CHARGEBACK_REVERSAL: True,
    PaymentKind.REFUND: False,
    PaymentKind.CHARGEBACK: False,
}
_LINE_INBOUND: dict[LineKind, bool] = {
    LineKind.CHARGE: True,
    LineKind.CHARGEBACK_REVERSAL: True,
    LineKind.REFUND: False,
    LineKind.CHARGEBACK: False,
}

_T = TypeVar("_T")
_Scope = tuple[str, str, bool]  # gateway, currency, money in?
_Many = int | list[int]  # one position, or several (kept as an int while alone: less memory)
_DayKey = tuple[str, str, date]  # gateway, currency, UTC day


# Canonical orders. Receipts: by receipt id (unique across the hub by contract). Recognised
# lines: by their place in their settlement. Both keys are extracted and compared in C; should
# two items share one, the full None-safe keys below decide (``_canonical``).
_BY_RECEIPT_ID = attrgetter("receipt_id")
_BY_PLACE = attrgetter("gateway", "settlement_id", "line_no")
_GATEWAY = attrgetter("gateway")
_OCCURRED_AT = attrgetter("occurred_at")


def _receipt_key(r: ExpectedReceipt) -> tuple[datetime, str, str, str, int, str, str, str]:
    # kind, a StrEnum, compares as its str value (``.value`` would cost a Python-level call).
    return (
        r.occurred_at,
        r.receipt_id,
        r.gateway,
        r.currency,
        r.amount,
        r.kind,
        r.transaction_id or "",
        r.order_ref or "",
    )


def _line_key(
    ln: SettlementLine,
) -> tuple[datetime, str, str, int, str, str, int, str, str, str]:
    return (
        ln.occurred_at,
        ln.gateway,
        ln.settlement_id,
        ln.line_no,
        ln.currency,
        ln.kind,
        ln.amount,
        ln.transaction_id or "",
        ln.order_ref or "",
        ln.description,
    )


def _canonical(items: list[_T], key: Callable[[_T], Any], full: Callable[[_T], Any]) -> None:
    """Sort ``items`` by ``key``, or by ``full`` (every field) when ``key`` has ties.

    A one-attribute key sorts a million items in well under a second; a tuple of every field
    takes several, which is why the full key is the fallback and not the rule.
    """
    items.sort(key=key)
    keys = list(map(key, items))
    if any(map(eq, keys, islice(keys, 1, None))):
        items.sort(key=full)


def _as_paid(ln: SettlementLine) -> SettlementLine:
    """The line in the currency the customer paid, when the gateway converted it."""
    if ln.original_currency is None or ln.original_amount is None or not ln.converted:
        return ln
    return replace(ln, amount=ln.original_amount, currency=ln.original_currency)


def reconcile(
    receipts: Iterable[ExpectedReceipt],
    lines: Iterable[SettlementLine],
    policy: MatchPolicy = MatchPolicy(),
    as_of: datetime | None = None,
) -> Reconciliation:
    """Match expected receipts to settlement lines (see the module docstring for the passes)."""
    rs = list(receipts)
    unsettled = {g.casefold() for g in policy.unsettled_gateways}
    skip = {g for g in set(map(_GATEWAY, rs)) if g.casefold() in unsettled}
    ignored = [r for r in rs if r.gateway in skip] if skip else []
    if skip:
        rs = [r for r in rs if r.gateway not in skip]

    every = list(lines)
    # Converted lines are rare: test the attribute inline rather than call per line.
    ls = [
        ln if ln.original_currency is None else _as_paid(ln)
        for ln in every
        if ln.kind in _LINE_INBOUND
    ]
    recognised = [ln for ln in every if ln.kind not in _LINE_INBOUND]
    reach: dict[str, datetime] = {}  # the latest line of each gateway: how far it has settled
    for gateway, at in zip(map(_GATEWAY, every), map(_OCCURRED_AT, every), strict=True):
        last = reach.get(gateway)
        if last is None or at > last:
            reach[gateway] = at
    del every

    # The result must not depend on input order. Receipts are put in canonical order here;
    # matchable lines stay as given: passes 1 and 2 emit their items in receipt order, and the
    # later passes take what is left of the lines in time order (``_Run.lines_by_time``).
    _canonical(rs, _BY_RECEIPT_ID, _receipt_key)
    _canonical(ignored, _BY_RECEIPT_ID, _receipt_key)
    _canonical(recognised, _BY_PLACE, _line_key)

    run = _Run(rs, ls, policy)
    run.by_reference(attrgetter("transaction_id"), "transaction_id")
    run.by_reference(attrgetter("order_ref"), "order_ref")
    run.by_amount_and_date(id_free=True)
    run.by_amount_and_date(id_free=False)
    run.by_batch()
    run.leftovers(reach, as_of)
    return Reconciliation(run.items, recognised, ignored)


class _Run:
    """The working state of one ``reconcile`` call.

    Receipts and lines are referred to by their position in ``rs`` (canonical order) and
    ``ls`` (as given), with a ``bytearray`` flag each for "already in an item": cheap to test,
    and the hot loops then allocate little beyond the result.
    """

    def __init__(
        self, rs: list[ExpectedReceipt], ls: list[SettlementLine], policy: MatchPolicy
    ) -> None:
        self.rs = rs
        self.ls = ls
        self.policy = policy
        self.tol = policy.amount_tolerance
        self.r_used = bytearray(len(rs))
        self.l_used = bytearray(len(ls))
        self.items: list[ReconItem] = []
        self._r_by_time: list[int] | None = None
        self._l_by_time: list[int] | None = None

    def receipts_by_time(self) -> list[int]:
        """Positions of the receipts the id passes left, by (date, receipt id); cached, so
        later passes must still skip the ones used since."""
        if self._r_by_time is None:
            rs = self.rs
            rest = [i for i, used in enumerate(self.r_used) if not used]
            rest.sort(key=lambda i: rs[i].occurred_at)  # stable: ties stay in receipt order
            self._r_by_time = rest
        return self._r_by_time

    def lines_by_time(self) -> list[int]:
        """Positions of the lines the id passes left, by date then every field; cached."""
        if self._l_by_time is None:
            ls = self.ls
            rest = [j for j, used in enumerate(self.l_used) if not used]
            rest.sort(key=lambda j: _line_key(ls[j]))
            self._l_by_time = rest
        return self._l_by_time

    def _pair(self, method: str, r_pos: Sequence[int], l_pos: Sequence[int]) -> None:
        rs, ls, r_used, l_used = self.rs, self.ls, self.r_used, self.l_used
        receipts = tuple([rs[i] for i in r_pos])
        lines = tuple([ls[j] for j in l_pos])
        for i in r_pos:
            r_used[i] = 1
        for j in l_pos:
            l_used[j] = 1
        expected = sum([r.amount for r in receipts])
        settled = sum([ln.amount for ln in lines])
        first = lines[0]
        outcome = Outcome.MATCHED if abs(settled - expected) <= self.tol else Outcome.VARIANCE
        self.items.append(
            ReconItem(
                outcome, first.gateway, first.currency, method, receipts, lines, expected, settled
            )
        )

    def _pair1(self, method: str, i: int, j: int) -> None:
        """``_pair`` for one receipt and one line: the common case, kept lean."""
        r, ln = self.rs[i], self.ls[j]
        self.r_used[i] = 1
        self.l_used[j] = 1
        expected, settled = r.amount, ln.amount
        outcome = Outcome.MATCHED if abs(settled - expected) <= self.tol else Outcome.VARIANCE
        self.items.append(
            ReconItem(outcome, ln.gateway, ln.currency, method, (r,), (ln,), expected, settled)
        )

    # -- passes 1 and 2: same id, summed on both sides ----------------------------------------

    def by_reference(self, ref: Callable[[object], str | None], method: str) -> None:
        """Pair lines and receipts sharing ``ref`` within a gateway, currency and direction.

        By order reference (pass 2), a line that carries a transaction id is kept out of an
        order (in its gateway and currency) whose receipts carry transaction ids: pass 1 would
        have paired them if the ids agreed, so they are two payments of one order (a second
        attempt, a later capture), not one. Id-less lines still pair with id-bearing receipts
        (a gateway that reports only the order), and id-bearing lines with id-less receipts
        (a channel order whose gateway id the hub never got).

        Indexed on the reference alone (no tuple key per item); the scope is checked when a
        reference is found on both sides, which for a million pairs is the cheaper way round.
        Items come out in receipt order.
        """
        rs, ls, r_used, l_used = self.rs, self.ls, self.r_used, self.l_used
        index: dict[str, _Many] = {}
        put = index.setdefault
        for i, key in enumerate(map(ref, rs)):
            if key is None or r_used[i]:
                continue
            got = put(key, i)
            if got is not i:  # a second receipt with this reference
                if isinstance(got, int):
                    index[key] = [got, i]
                else:
                    got.append(i)

        hits: dict[str, _Many] = {}
        hit = hits.setdefault
        for j, key in enumerate(map(ref, ls)):
            if key is None or key not in index or l_used[j]:
                continue
            got = hit(key, j)
            if got is not j:
                if isinstance(got, int):
                    hits[key] = [got, j]
                else:
                    got.append(j)

        r_in, l_in, tol, items = _RECEIPT_INBOUND, _LINE_INBOUND, self.tol, self.items
        by_order = method == "order_ref"
        matched, variance, find = Outcome.MATCHED, Outcome.VARIANCE, hits.get
        for key, r_many in index.items():
            l_many = find(key)
            if l_many is None:
                continue
            if isinstance(r_many, int) and isinstance(l_many, int):
                # One receipt, one line: _pair1, inlined (it runs a million times).
                r, ln = rs[r_many], ls[l_many]
                if by_order and r.transaction_id is not None and ln.transaction_id is not None:
                    continue  # two payments of one order, by their ids
                if (
                    r.gateway == ln.gateway
                    and r.currency == ln.currency
                    and r_in[r.kind] == l_in[ln.kind]
                ):
                    r_used[r_many] = l_used[l_many] = 1
                    expected, settled = r.amount, ln.amount
                    items.append(
                        ReconItem(
                            matched if abs(settled - expected) <= tol else variance,
                            ln.gateway,
                            ln.currency,
                            method,
                            (r,),
                            (ln,),
                            expected,
                            settled,
                        )
                    )
                    continue
            self._pair_groups(
                method,
                [r_many] if isinstance(r_many, int) else r_many,
                [l_many] if isinstance(l_many, int) else l_many,
                by_order,
            )

    def _pair_groups(
        self, method: str, r_list: list[int], l_list: list[int], by_order: bool
    ) -> None:
        """Receipts and lines sharing one reference, more than one of them or in two scopes.

        Each side is grouped by gateway and currency, then by direction, and each direction
        with both receipts and lines is paired. When a direction has only one side, but the
        reference as a whole adds up (a gateway that settled an order's capture and its partial
        refund as one net line), the whole reference is one item instead of a VARIANCE for the
        capture and a MISSING refund.
        """
        rs, ls = self.rs, self.ls
        r_in, l_in = _RECEIPT_INBOUND, _LINE_INBOUND
        sides: dict[tuple[str, str], dict[bool, tuple[list[int], list[int]]]] = {}
        with_ids: set[tuple[str, str]] = set()  # scopes where a receipt carries a transaction id
        for i in r_list:
            r = rs[i]
            by_dir = sides.setdefault((r.gateway, r.currency), {})
            by_dir.setdefault(r_in[r.kind], ([], []))[0].append(i)
            if r.transaction_id is not None:
                with_ids.add((r.gateway, r.currency))
        for j in sorted(l_list, key=lambda j: _line_key(ls[j])):
            ln = ls[j]
            line_dirs = sides.get((ln.gateway, ln.currency))
            if line_dirs is None:
                continue
            if by_order and ln.transaction_id is not None and (ln.gateway, ln.currency) in with_ids:
                continue  # see by_reference: ids that differ are two payments
            line_dirs.setdefault(l_in[ln.kind], ([], []))[1].append(j)
        for by_dir in sides.values():
            groups = list(by_dir.values())
            if not all(r_pos and l_pos for r_pos, l_pos in groups):
                all_r = sorted(i for r_pos, _ in groups for i in r_pos)
                all_l = [j for _, l_pos in groups for j in l_pos]
                expected = sum(rs[i].amount for i in all_r)
                settled = sum(ls[j].amount for j in all_l)
                if all_l and abs(settled - expected) <= self.tol:
                    self._pair(method, all_r, sorted(all_l, key=lambda j: _line_key(ls[j])))
                    continue
            for r_pos, l_pos in groups:
                if r_pos and l_pos:
                    self._pair(method, r_pos, l_pos)

    # -- pass 3: amount and date --------------------------------------------------------------

    def by_amount_and_date(self, id_free: bool) -> None:
        """Pair each remaining line with one remaining receipt of the same amount and near date.

        Candidates: receipts of the line's gateway and currency whose amount is within the
        tolerance and whose date lies in the window (the line at most ``date_window_days`` after
        the receipt, ``days_before`` before it). The nearest amount wins, then the date rule of
        ``MatchPolicy.fuzzy_pick``, then the lower receipt id. Lines are taken in time order.

        * "earliest" (default): the oldest receipt still open, first paid, first settled. A
          payout follows its payments by a fairly steady delay, and taking the oldest means no
          receipt ages out of the window while a younger one of the same amount is taken.
        * "closest": the receipt nearest the line's date, either side (the brief's first
          idea). On the benchmark's month (1M receipts; 80,000 id-less lines, many at a shared
          price point, each 0-3 days after its receipt) it left 496 of those lines UNKNOWN and
          as many receipts MISSING where "earliest" left none, and it paired fewer lines with
          their own receipt (50% against 59%; same amount, so the money agrees either way): the
          nearest receipt is as often a younger one that belongs to a later line.

        The pass runs twice: first only between lines and receipts that both lack a transaction
        id (the natural fuzzy pairs), then over everything left, so a leftover line that does
        carry an id does not take a receipt an id-less line was waiting for. Both sides carrying
        a transaction id (or an order reference) that differ is never a pair: the ids say they
        are two payments.
        """
        rs, ls, r_used, l_used = self.rs, self.ls, self.r_used, self.l_used
        tol = self.tol
        window = timedelta(days=self.policy.date_window_days)
        before = timedelta(days=self.policy.days_before)
        pick = _PICKERS[self.policy.fuzzy_pick]

        # scope -> amount -> positions, in (date, receipt id) order.
        buckets: dict[tuple[str, str], dict[int, list[int]]] = {}
        for i in self.receipts_by_time():
            r = rs[i]
            if r_used[i] or (id_free and r.transaction_id is not None):
                continue
            scope = (r.gateway, r.currency)
            amounts = buckets.get(scope)
            if amounts is None:
                amounts = buckets[scope] = {}
            bucket = amounts.get(r.amount)
            if bucket is None:
                amounts[r.amount] = [i]
            else:
                bucket.append(i)
        if not buckets:
            return

        sorted_amounts: dict[tuple[str, str], list[int]] = {}
        probe = 2 * tol + 1 <= _PROBE_LIMIT
        offsets = sorted(range(-tol, tol + 1), key=lambda d: (abs(d), d)) if probe else []

        def date_of(i: int) -> datetime:
            return rs[i].occurred_at

        for j in self.lines_by_time():
            ln = ls[j]
            if l_used[j] or (id_free and ln.transaction_id is not None):
                continue
            scope = (ln.gateway, ln.currency)
            amounts = buckets.get(scope)
            if not amounts:
                continue
            amount = ln.amount
            if probe:
                candidates: Iterable[int] = [amount + d for d in offsets]
            else:
                keys = sorted_amounts.get(scope)
                if keys is None:
                    keys = sorted_amounts[scope] = sorted(amounts)
                lo, hi = bisect_left(keys, amount - tol), bisect_right(keys, amount + tol)
                candidates = sorted(keys[lo:hi], key=lambda a: (abs(a - amount), a))
            at = ln.occurred_at
            earliest, latest = at - window, at + before
            best: tuple[int, timedelta, str] | None = None
            chosen: tuple[list[int], int] | None = None
            for value in candidates:  # nearest amount first
                if best is not None and abs(value - amount) > best[0]:
                    break
                bucket = amounts.get(value)
                if not bucket:
                    continue
                found = pick(bucket, rs, ln, earliest, latest, date_of)
                if found is None:
                    continue
                r = rs[bucket[found]]
                rank = (abs(value - amount), pick.rank(r.occurred_at, at, earliest), r.receipt_id)
                if best is None or rank < best:
                    best, chosen = rank, (bucket, found)
            if chosen is not None:
                bucket, found = chosen
                self._pair1("amount_date", bucket.pop(found), j)

    # -- pass 4: one line paying several receipts ---------------------------------------------

    def by_batch(self) -> None:
        """Pair a remaining line with several remaining receipts of its day that add up to it.

        For a payout line that pays a day's payments in one amount (a POS card batch). The
        candidates are the remaining receipts of the line's gateway, currency and UTC day. The
        whole day adding up to the line (within the tolerance) is preferred; failing that, for
        a day of at most ``batch_max_items`` receipts, the smallest subset of two or more that
        adds up (ties: the earliest receipts). Larger days are only tried whole: a search there
        is exponential, and a coincidental subset more likely than a true batch.

        Receipts of one order paid by one line are pass 2's (netted there when a capture and a
        refund were settled as one line), so here a line that carries a transaction id or an
        order reference only takes receipts without one: ids that differ are two payments.
        """
        rs, ls, r_used, l_used = self.rs, self.ls, self.r_used, self.l_used
        tol, limit = self.tol, self.policy.batch_max_items
        days: dict[_DayKey, list[int]] = {}  # receipt positions by (gateway, currency, day)
        for i in self.receipts_by_time():
            if not r_used[i]:
                r = rs[i]
                days.setdefault((r.gateway, r.currency, r.occurred_at.date()), []).append(i)
        if not days:
            return

        # Per (day, line has a transaction id, line has an order reference): the free members
        # and their total, kept until a batch takes receipts out of that day, so a day of many
        # leftovers is filtered once, not once per line.
        members_of: dict[tuple[_DayKey, bool, bool], tuple[tuple[int, ...], int]] = {}
        sums_of: dict[tuple[int, ...], dict[int, int]] = {}
        for j in self.lines_by_time():
            if l_used[j]:
                continue
            ln = ls[j]
            day = (ln.gateway, ln.currency, ln.occurred_at.date())
            group = days.get(day)
            if group is None:
                continue
            has_id, has_ref = ln.transaction_id is not None, ln.order_ref is not None
            cached = members_of.get((day, has_id, has_ref))
            if cached is None:
                group[:] = [i for i in group if not r_used[i]]
                free = tuple(
                    i
                    for i in group
                    if not (has_id and rs[i].transaction_id is not None)
                    and not (has_ref and rs[i].order_ref is not None)
                )
                total = sum(rs[i].amount for i in free)
                cached = members_of[(day, has_id, has_ref)] = (free, total)
            members, total = cached
            if len(members) < 2:
                continue
            chosen: Sequence[int] | None = None
            if abs(total - ln.amount) <= tol:
                chosen = members
            elif len(members) <= limit:
                sums = sums_of.get(members)
                if sums is None:
                    sums = sums_of[members] = _subset_sums([rs[i].amount for i in members])
                mask = _closest_sum(sums, ln.amount, tol)
                if mask is not None:
                    chosen = [i for bit, i in enumerate(members) if mask >> bit & 1]
            if chosen is None:
                continue
            self._pair("batch", chosen, (j,))
            for flags in ((False, False), (False, True), (True, False), (True, True)):
                members_of.pop((day, *flags), None)  # that day has changed

    # -- what is left ------------------------------------------------------------------------

    def leftovers(self, reach: dict[str, datetime], as_of: datetime | None) -> None:
        """UNKNOWN lines, then MISSING or PENDING receipts.

        Left-over lines that share a transaction id or an order reference (and direction) are
        one finding: the Principal, Tax and Shipping rows of an Amazon order the hub never saw
        are one unknown order of their total, which is what finance looks up, not three.
        """
        items, rs, ls, l_in = self.items, self.rs, self.ls, _LINE_INBOUND
        unknown: dict[tuple[str, str, bool, bool, str] | int, list[SettlementLine]] = {}
        for j in self.lines_by_time():
            if self.l_used[j]:
                continue
            ln = ls[j]
            if ln.transaction_id is not None:
                key: tuple[str, str, bool, bool, str] | int = (
                    ln.gateway, ln.currency, l_in[ln.kind], True, ln.transaction_id
                )  # fmt: skip
            elif ln.order_ref is not None:
                key = (ln.gateway, ln.currency, l_in[ln.kind], False, ln.order_ref)
            else:
                key = j  # nothing ties it to other lines
            unknown.setdefault(key, []).append(ln)
        for group in unknown.values():
            first, settled = group[0], sum(ln.amount for ln in group)
            items.append(
                ReconItem(
                    Outcome.UNKNOWN, first.gateway, first.currency, "", (), tuple(group), 0, settled
                )
            )
        window = timedelta(days=self.policy.date_window_days)
        for i in self.receipts_by_time():
            if self.r_used[i]:
                continue
            r = rs[i]
            due = r.occurred_at + window
            last = reach.get(r.gateway)
            # Settled past the day this was due; or, with no line of the gateway at all, due
            # before as_of.
            overdue = last > due if last is not None else (as_of is not None and as_of > due)
            outcome = Outcome.MISSING if overdue else Outcome.PENDING
            items.append(ReconItem(outcome, r.gateway, r.currency, "", (r,), (), r.amount, 0))


def _conflict(r: ExpectedReceipt, ln: SettlementLine) -> bool:
    """Both sides carry an id of one kind, and the ids differ: two different payments."""
    return (
        r.transaction_id is not None
        and ln.transaction_id is not None
        and r.transaction_id != ln.transaction_id
    ) or (r.order_ref is not None and ln.order_ref is not None and r.order_ref != ln.order_ref)


class _Picker(Protocol):
    """Chooses, in one amount's date-sorted bucket, the receipt for a line (an index or None)."""

    def __call__(
        self,
        bucket: list[int],
        rs: list[ExpectedReceipt],
        ln: SettlementLine,
        earliest: datetime,
        latest: datetime,
        date_of: Callable[[int], datetime],
    ) -> int | None: ...

    @staticmethod
    def rank(when: datetime, at: datetime, earliest: datetime) -> timedelta:
        """Orders the picks of several buckets (amounts within tolerance): lower is better."""


class _Earliest:
    """The oldest receipt in [earliest, latest] not in conflict with the line."""

    def __call__(
        self,
        bucket: list[int],
        rs: list[ExpectedReceipt],
        ln: SettlementLine,
        earliest: datetime,
        latest: datetime,
        date_of: Callable[[int], datetime],
    ) -> int | None:
        for k in range(bisect_left(bucket, earliest, key=date_of), len(bucket)):
            r = rs[bucket[k]]
            if r.occurred_at > latest:
                return None
            if not _conflict(r, ln):
                return k  # equal dates come in rising receipt id: the first is the one
        return None

    @staticmethod
    def rank(when: datetime, at: datetime, earliest: datetime) -> timedelta:
        return when - earliest


class _Closest:
    """The receipt nearest in time to the line within [earliest, latest], not in conflict
    with it; ties → lower receipt id.

    Walks outwards from the line's date, so a crowded amount (every 19.99 sale of the month)
    costs the distance to the nearest free candidate, not the length of the list.
    """

    def __call__(
        self,
        bucket: list[int],
        rs: list[ExpectedReceipt],
        ln: SettlementLine,
        earliest: datetime,
        latest: datetime,
        date_of: Callable[[int], datetime],
    ) -> int | None:
        at = ln.occurred_at
        start = bisect_left(bucket, at, key=date_of)
        right: int | None = None
        for k in range(start, len(bucket)):
            r = rs[bucket[k]]
            if r.occurred_at > latest:
                break
            if not _conflict(r, ln):
                right = k  # going up, equal dates come in rising receipt id: the first is best
                break
        left: int | None = None
        left_date: datetime | None = None
        for k in range(start - 1, -1, -1):
            r = rs[bucket[k]]
            if r.occurred_at < earliest or (left_date is not None and r.occurred_at != left_date):
                break
            if not _conflict(r, ln):
                left, left_date = k, r.occurred_at  # keep going: same date, lower receipt id
        if left is None:
            return right
        if right is None:
            return left
        lr, rr = rs[bucket[left]], rs[bucket[right]]
        if (at - lr.occurred_at, lr.receipt_id) <= (rr.occurred_at - at, rr.receipt_id):
            return left
        return right

    @staticmethod
    def rank(when: datetime, at: datetime, earliest: datetime) -> timedelta:
        return abs(when - at)


_PICKERS: dict[str, _Picker] = {"earliest": _Earliest(), "closest": _Closest()}


@cache
def _mask_order(n: int) -> tuple[int, ...]:
    """Subsets of n items with at least two members: fewest first, then the earliest items
    ({0, 1} before {0, 2} before {1, 2})."""
    masks = [m for m in range(1, 1 << n) if m.bit_count() >= 2]
    return tuple(sorted(masks, key=lambda m: (m.bit_count(), _positions(m))))


def _positions(mask: int) -> tuple[int, ...]:
    return tuple(i for i in range(mask.bit_length()) if mask >> i & 1)


def _subset_sums(values: list[int]) -> dict[int, int]:
    """Every sum of two or more ``values`` → the preferred subset (bit mask) reaching it."""
    n = len(values)
    sums = [0] * (1 << n)
    for mask in range(1, 1 << n):
        low = mask & -mask
        sums[mask] = sums[mask ^ low] + values[low.bit_length() - 1]
    best: dict[int, int] = {}
    for mask in _mask_order(n):
        best.setdefault(sums[mask], mask)
    return best


def _closest_sum(sums: dict[int, int], amount: int, tol: int) -> int | None:
    if tol == 0 or 2 * tol + 1 <= _PROBE_LIMIT:
        for d in sorted(range(-tol, tol + 1), key=lambda d: (abs(d), d)):
            mask = sums.get(amount + d)
            if mask is not None:
                return mask
        return None
    near = [(abs(s - amount), s) for s in sums if abs(s - amount) <= tol]
    return sums[min(near)[1]] if near else None


# ---------------------------------------------------------------------------------------------
# Payouts against bank deposits


@dataclass(frozen=True, slots=True)
class DepositMatch:
    """A payout and the bank line it landed as (either may be missing).

    ``method``: "exact" (the settlement id appears in the bank reference), "amount_date"
    (same amount and currency, booked within the deposit window), "no_deposit_due" (a payout
    of zero or less: nothing is paid into the bank; a negative payout is a debit the gateway
    collects, not matched here), or "" when unmatched.
    """

    settlement: Settlement | None
    bank_line: BankLine | None
    outcome: Outcome
    method: str

    @property
    def variance(self) -> int | None:
        """Bank amount less payout total, when both exist in one currency."""
        s, b = self.settlement, self.bank_line
        if s is None or b is None or s.currency != b.currency:
            return None
        return b.amount - s.total


_TOKEN = re.compile(r"[0-9A-Za-z]+(?:[_\-][0-9A-Za-z]+)*")
_MIN_TRAILING = 6  # a trailing id part shorter than this ("123") would match too much


def _tokens(text: str) -> set[str]:
    """Upper-cased words of a bank reference: each run of letters, digits, ``_`` and ``-``, and
    each run of letters and digits within it ("PO_1AbC" gives "PO_1ABC", "PO" and "1ABC")."""
    out: set[str] = set()
    for word in _TOKEN.findall(text.upper()):
        out.add(word)
        out.update(re.split(r"[_\-]", word))
    return out


def _id_keys(settlement_id: str) -> list[str]:
    """How a settlement id may appear in a bank reference: whole, or its trailing part."""
    whole = settlement_id.strip().upper()
    keys = [whole] if whole else []
    parts = re.findall(r"[0-9A-Z]+", whole)
    if parts and len(parts[-1]) >= _MIN_TRAILING and parts[-1] != whole:
        keys.append(parts[-1])
    return keys


def _expected_on(s: Settlement) -> date | None:
    """The payout's deposit date; failing that its last line's date, then its period end."""
    if s.deposit_date is not None:
        return s.deposit_date
    if s.lines:
        return max(ln.occurred_at for ln in s.lines).date()
    return s.period_end.date() if s.period_end is not None else None


def _agrees(s: Settlement, b: BankLine, tol: int) -> bool:
    return b.currency == s.currency and abs(b.amount - s.total) <= tol


def _days(b: BankLine, on: date | None) -> int:
    return abs((b.booked_on - on).days) if on is not None else 0


def match_deposits(
    settlements: Iterable[Settlement],
    bank_lines: Iterable[BankLine],
    policy: MatchPolicy = MatchPolicy(),
) -> list[DepositMatch]:
    """Find each payout's bank deposit; flag payouts never deposited and gateway deposits no
    payout explains.

    1. A payout of zero or less needs no deposit: MATCHED, method "no_deposit_due".
    2. A bank credit whose reference carries the settlement id, whole or its trailing part of
       at least six letters/digits (Stripe's ``po_1Ab…`` may appear as ``1AB…``), as a word:
       "exact", MATCHED if currency and amount agree (within the tolerance), else VARIANCE.
    3. A bank credit of the same currency and amount booked from ``deposit_days_before`` before
       to ``deposit_days_after`` after the deposit date: "amount_date", nearest date first.
    4. Otherwise MISSING, or PENDING when the bank lines given end before the window closes
       (the statement does not reach that day yet).
    5. Unused credits whose reference or counterparty names a gateway (``deposit_keywords`` and
       the gateways of the settlements given) are UNKNOWN. Other credits are not this
       reconciliation's business and are not reported.

    Steps 1-2 run for every payout before step 3 for any, so a credit that names one payout is
    never taken by another on its amount. Each bank line is used at most once; payouts are
    taken in (expected date, gateway, id) order, so the result does not depend on input order.
    """
    tol = policy.amount_tolerance
    before = timedelta(days=policy.deposit_days_before)
    after = timedelta(days=policy.deposit_days_after)
    payouts = sorted(
        settlements,
        key=lambda s: (_expected_on(s) or date.min, s.gateway, s.settlement_id, s.currency),
    )
    banked = sorted(
        bank_lines,
        key=lambda b: (b.booked_on, b.account, b.line_no, b.amount, b.currency, b.reference),
    )
    statement_end = max((b.booked_on for b in banked), default=None)
    credits = [i for i, b in enumerate(banked) if b.amount > 0]
    used = bytearray(len(banked))

    by_token: dict[str, list[int]] = {}
    for i in credits:
        for token in _tokens(banked[i].reference):
            by_token.setdefault(token, []).append(i)
    by_amount: dict[tuple[str, int], list[int]] = {}
    for i in credits:
        by_amount.setdefault((banked[i].currency, banked[i].amount), []).append(i)

    found: dict[int, DepositMatch] = {}  # payout position -> its match
    for k, s in enumerate(payouts):  # 1 and 2, for every payout before any is matched on amount
        if s.total <= 0:
            found[k] = DepositMatch(s, None, Outcome.MATCHED, "no_deposit_due")
            continue
        on = _expected_on(s)
        named = {
            i for key in _id_keys(s.settlement_id) for i in by_token.get(key, ()) if not used[i]
        }
        if named:
            _, _, i = min((not _agrees(s, banked[i], tol), _days(banked[i], on), i) for i in named)
            used[i] = 1
            outcome = Outcome.MATCHED if _agrees(s, banked[i], tol) else Outcome.VARIANCE
            found[k] = DepositMatch(s, banked[i], outcome, "exact")

    results: list[DepositMatch] = []
    for k, s in enumerate(payouts):
        if k in found:
            results.append(found[k])
            continue
        on = _expected_on(s)
        if on is not None:  # 3: by amount and date
            lo, hi = on - before, on + after
            pool = [
                (_days(banked[i], on), i)
                for i in by_amount.get((s.currency, s.total), ())
                if not used[i] and lo <= banked[i].booked_on <= hi
            ]
            if pool:
                _, i = min(pool)
                used[i] = 1
                results.append(DepositMatch(s, banked[i], Outcome.MATCHED, "amount_date"))
                continue
        # 4: nothing found. Without any date to go by, it cannot be "not yet": MISSING.
        due_by = on + after if on is not None else None
        pending = statement_end is None or (due_by is not None and statement_end < due_by)
        results.append(DepositMatch(s, None, Outcome.PENDING if pending else Outcome.MISSING, ""))

    # 5: gateway-looking credits nothing explains.
    keywords = {k.casefold() for k in policy.deposit_keywords}
    keywords |= {s.gateway.casefold() for s in payouts}
    for i in credits:
        if used[i]:
            continue
        b = banked[i]
        text = f"{b.reference} {b.counterparty or ''}".casefold()
        if any(k in text for k in keywords):
            results.append(DepositMatch(None, b, Outcome.UNKNOWN, ""))
    return results
