"""Running reconciliation: receipts against settlement lines, payouts against the bank.

The engine (``domain.reconciliation``) decides; this service feeds it what is stored, keeps
the run, and turns findings into exception-queue items. Findings are advisory exceptions
about a subject (a receipt, a settlement line, a payout), so running reconciliation again
updates the same exception instead of opening another, and a finding that has come right
(the late settlement arrived) resolves its exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from retailhub.domain.money import format_minor
from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.reconciliation import (
    DepositMatch,
    MatchPolicy,
    Outcome,
    Reconciliation,
    ReconItem,
    match_deposits,
    reconcile,
)
from retailhub.domain.settlements import Settlement, SettlementLine
from retailhub.services.ports import MoneyRecords, UnitOfWork

RECONCILIATION_PROBLEMS = (
    ProblemType.MISSING_FROM_SETTLEMENT.value,
    ProblemType.UNKNOWN_IN_SETTLEMENT.value,
    ProblemType.SETTLEMENT_VARIANCE.value,
    ProblemType.UNMATCHED_DEPOSIT.value,
)


@dataclass
class ReconcileReport:
    run_id: int
    gateway: str | None
    on_date: date | None
    match_rate: Fraction | None
    matched_lines: int
    matchable_lines: int
    counts: dict[str, int]
    findings: list[dict[str, Any]] = field(default_factory=list)  # everything not matched
    deposits: list[dict[str, Any]] = field(default_factory=list)
    recognised: dict[str, int] = field(default_factory=dict)  # fees etc. by kind
    exceptions_raised: int = 0
    exceptions_resolved: int = 0

    def as_dict(self) -> dict[str, Any]:
        rate = self.match_rate
        return {
            "run_id": self.run_id,
            "gateway": self.gateway,
            "date": self.on_date.isoformat() if self.on_date else None,
            "match_rate": float(rate) if rate is not None else None,
            "matched_lines": self.matched_lines,
            "matchable_lines": self.matchable_lines,
            "counts": self.counts,
            "unmatched": self.findings,
            "deposits": self.deposits,
            "recognised": self.recognised,
            "exceptions_raised": self.exceptions_raised,
            "exceptions_resolved": self.exceptions_resolved,
        }


def run_reconciliation(
    uow: UnitOfWork,
    records: MoneyRecords,
    policy: MatchPolicy,
    now: datetime,
    gateway: str | None = None,
    on_date: date | None = None,
) -> ReconcileReport:
    """Reconcile (all of a gateway's history: a settlement pays receipts from earlier days),
    then report on ``on_date``'s settlements when given. The caller commits."""
    settlements = records.settlements(gateway)
    lines = [line for s in settlements for line in s.lines]
    result = reconcile(records.expected_receipts(gateway), lines, policy, as_of=now)
    deposits = match_deposits(settlements, records.bank_lines(), policy)

    deposit_dates = {(s.gateway, s.settlement_id): s.deposit_date for s in settlements}
    items = [i for i in result.items if _on(i, on_date, deposit_dates)]
    deposits = [d for d in deposits if _deposit_on(d, on_date)]
    matchable = sum(len(i.lines) for i in items)
    matched = sum(len(i.lines) for i in items if i.outcome is Outcome.MATCHED)
    counts = {o.value: 0 for o in Outcome}
    for item in items:
        counts[item.outcome.value] += 1

    report = ReconcileReport(
        run_id=0,
        gateway=gateway,
        on_date=on_date,
        match_rate=Fraction(matched, matchable) if matchable else None,
        matched_lines=matched,
        matchable_lines=matchable,
        counts=counts,
        findings=[_finding(i) for i in items if i.outcome is not Outcome.MATCHED],
        deposits=[_deposit(d) for d in deposits],
        recognised=_recognised(result.recognised, on_date, deposit_dates),
    )
    report.exceptions_raised, report.exceptions_resolved = _queue(uow, items, deposits, now)
    report.run_id = records.save_run(
        now,
        gateway,
        on_date,
        matched,
        matchable,
        {"counts": counts, "deposits": len(deposits), "recognised": report.recognised},
        (_stored(i) for i in items if i.outcome is not Outcome.MATCHED),
    )
    return report


def _on(item: ReconItem, day: date | None, deposits: dict[tuple[str, str], date | None]) -> bool:
    if day is None:
        return True
    if item.lines:
        return any(deposits.get((ln.gateway, ln.settlement_id)) == day for ln in item.lines)
    return any(r.occurred_at.date() == day for r in item.receipts)


def _deposit_on(d: DepositMatch, day: date | None) -> bool:
    if day is None:
        return True
    if d.settlement is not None:
        return d.settlement.deposit_date == day
    return d.bank_line is not None and d.bank_line.booked_on == day


def _recognised(
    lines: Iterable[SettlementLine], day: date | None, deposits: dict[tuple[str, str], date | None]
) -> dict[str, int]:
    sums: dict[str, int] = {}
    for ln in lines:
        if day is None or deposits.get((ln.gateway, ln.settlement_id)) == day:
            key = f"{ln.gateway}:{ln.kind.value}:{ln.currency}"
            sums[key] = sums.get(key, 0) + ln.amount
    return sums


def _finding(item: ReconItem) -> dict[str, Any]:
    return {
        "outcome": item.outcome.value,
        "gateway": item.gateway,
        "currency": item.currency,
        "method": item.method,
        "expected": item.expected,
        "settled": item.settled,
        "variance": item.variance,
        "amount": format_minor(item.variance if item.lines else -item.expected, item.currency),
        "receipts": [
            {
                "receipt_id": r.receipt_id,
                "kind": r.kind.value,
                "amount": r.amount,
                "transaction_id": r.transaction_id,
                "order_ref": r.order_ref,
                "occurred_at": r.occurred_at.isoformat(),
            }
            for r in item.receipts
        ],
        "lines": [
            {
                "settlement_id": ln.settlement_id,
                "line_no": ln.line_no,
                "kind": ln.kind.value,
                "amount": ln.amount,
                "transaction_id": ln.transaction_id,
                "order_ref": ln.order_ref,
                "occurred_at": ln.occurred_at.isoformat(),
            }
            for ln in item.lines
        ],
    }


def _deposit(d: DepositMatch) -> dict[str, Any]:
    s, b = d.settlement, d.bank_line
    return {
        "outcome": d.outcome.value,
        "method": d.method,
        "settlement": f"{s.gateway}:{s.settlement_id}" if s else None,
        "payout": s.total if s else None,
        "currency": s.currency if s else (b.currency if b else None),
        "deposit_date": s.deposit_date.isoformat() if s and s.deposit_date else None,
        "bank_line": {
            "account": b.account,
            "booked_on": b.booked_on.isoformat(),
            "amount": b.amount,
            "reference": b.reference,
        }
        if b
        else None,
        "variance": d.variance,
    }


def _stored(item: ReconItem) -> dict[str, Any]:
    finding = _finding(item)
    subject = (
        f"receipt:{item.receipts[0].receipt_id}"
        if item.receipts
        else f"settlement:{item.gateway}:{item.lines[0].settlement_id}:{item.lines[0].line_no}"
    )
    return {
        "outcome": item.outcome.value,
        "gateway": item.gateway,
        "currency": item.currency,
        "method": item.method,
        "expected": item.expected,
        "settled": item.settled,
        "subject": subject,
        "detail": {"receipts": finding["receipts"], "lines": finding["lines"]},
    }


def _queue(
    uow: UnitOfWork, items: list[ReconItem], deposits: list[DepositMatch], now: datetime
) -> tuple[int, int]:
    """Raise (or refresh) an exception per finding; resolve those whose subject now matches."""
    problems = _item_problems(items) + [p for d in deposits if (p := _deposit_problem(d))]
    for problem in problems:
        uow.exceptions.raise_problem(problem, now, "reconciliation", None, None)
    cleared: list[str] = []
    for item in items:
        if item.outcome is Outcome.MATCHED:
            cleared += [f"receipt:{r.receipt_id}" for r in item.receipts]
            cleared += [
                f"settlement:{ln.gateway}:{ln.settlement_id}:{ln.line_no}" for ln in item.lines
            ]
    cleared += [
        _payout_subject(d.settlement)
        for d in deposits
        if d.outcome is Outcome.MATCHED and d.settlement is not None
    ]
    resolved = uow.exceptions.resolve_subjects(
        RECONCILIATION_PROBLEMS, cleared, now, "matched by a later reconciliation run"
    )
    return len(problems), resolved


def _item_problems(items: list[ReconItem]) -> list[Problem]:
    return Reconciliation(items, []).problems()


def _payout_subject(s: Settlement) -> str:
    return f"payout:{s.gateway}:{s.settlement_id}"


def _deposit_problem(d: DepositMatch) -> Problem | None:
    s, b = d.settlement, d.bank_line
    if d.outcome is Outcome.MISSING and s is not None:
        reason = (
            f"{s.gateway} payout {s.settlement_id} of {format_minor(s.total, s.currency)} "
            f"{s.currency} due {s.deposit_date} is on no bank statement"
        )
        return Problem(ProblemType.UNMATCHED_DEPOSIT, reason, False, _payout_subject(s), s.total)
    if d.outcome is Outcome.VARIANCE and s is not None and b is not None:
        reason = (
            f"{s.gateway} payout {s.settlement_id} of {format_minor(s.total, s.currency)} "
            f"arrived as {format_minor(b.amount, b.currency)} {b.currency} on "
            f"{b.booked_on} ({b.reference})"
        )
        return Problem(
            ProblemType.UNMATCHED_DEPOSIT, reason, False, _payout_subject(s), abs(d.variance or 0)
        )
    if d.outcome is Outcome.UNKNOWN and b is not None:
        reason = (
            f"bank credit of {format_minor(b.amount, b.currency)} {b.currency} on "
            f"{b.booked_on} ({b.reference}) looks like a payout but matches none imported"
        )
        subject = f"bank:{b.account}:{b.booked_on}:{b.amount}:{b.bank_ref or b.line_no}"
        return Problem(ProblemType.UNMATCHED_DEPOSIT, reason, False, subject, b.amount)
    return None
