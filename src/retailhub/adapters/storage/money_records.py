"""The read side of reconciliation, and what it writes: bank lines and reconciliation runs.

Reconciliation reads every expected receipt and settlement line of a gateway at once (the
engine matches in memory), so these are plain bulk selects, not repositories.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from retailhub.adapters.storage.tables import (
    bank_lines,
    payments,
    reconciliation_items,
    reconciliation_runs,
    settlement_lines,
    settlements,
)
from retailhub.domain.bank import BankLine
from retailhub.domain.payments import ExpectedReceipt, PaymentKind
from retailhub.domain.settlements import LineKind, Settlement, SettlementLine


@dataclass
class SqlMoneyRecords:
    conn: Connection

    def expected_receipts(self, gateway: str | None = None) -> list[ExpectedReceipt]:
        q = select(payments).where(payments.c.status == "expected")
        if gateway:
            q = q.where(payments.c.gateway == gateway)
        return [
            ExpectedReceipt(
                r.gateway,
                PaymentKind(r.kind),
                r.amount,
                r.currency,
                r.occurred_at,
                r.transaction_id,
                r.order_id,
                r.receipt_id,
            )
            for r in self.conn.execute(q.order_by(payments.c.id))
        ]

    def settlement_lines(self, gateway: str | None = None) -> list[SettlementLine]:
        q = select(settlement_lines)
        if gateway:
            q = q.where(settlement_lines.c.gateway == gateway)
        return [_line(r) for r in self.conn.execute(q.order_by(settlement_lines.c.id))]

    def settlements(self, gateway: str | None = None) -> list[Settlement]:
        q = select(settlements)
        if gateway:
            q = q.where(settlements.c.gateway == gateway)
        heads = list(self.conn.execute(q.order_by(settlements.c.id)))
        lines: dict[int, list[SettlementLine]] = {}
        for r in self.conn.execute(select(settlement_lines).order_by(settlement_lines.c.id)):
            lines.setdefault(r.settlement_pk, []).append(_line(r))
        return [
            Settlement(
                h.gateway,
                h.settlement_id,
                h.currency,
                h.total,
                h.deposit_date,
                tuple(lines.get(h.id, ())),
                h.period_start,
                h.period_end,
            )
            for h in heads
        ]

    def bank_lines(self) -> list[BankLine]:
        return [
            BankLine(
                r.account,
                r.line_no,
                r.booked_on,
                r.amount,
                r.currency,
                r.reference,
                r.bank_ref,
                r.counterparty,
            )
            for r in self.conn.execute(select(bank_lines).order_by(bank_lines.c.id))
        ]

    def add_bank_lines(self, lines: Sequence[BankLine], origin: str, at: datetime) -> int:
        """Store the lines not stored before (overlapping statements); return how many."""
        rows = []
        occurrence: Counter[tuple[Any, ...]] = Counter()
        for line in lines:
            rows.append(
                {
                    "account": line.account,
                    "line_no": line.line_no,
                    "booked_on": line.booked_on,
                    "amount": line.amount,
                    "currency": line.currency,
                    "reference": line.reference,
                    "bank_ref": line.bank_ref,
                    "counterparty": line.counterparty,
                    "origin": origin,
                    "fingerprint": _fingerprint(line, occurrence),
                    "imported_at": at,
                }
            )
        known = set()
        prints = [r["fingerprint"] for r in rows]
        for i in range(0, len(prints), 500):
            known |= set(
                self.conn.execute(
                    select(bank_lines.c.fingerprint).where(
                        bank_lines.c.fingerprint.in_(prints[i : i + 500])
                    )
                ).scalars()
            )
        fresh = [r for r in rows if r["fingerprint"] not in known]
        if fresh:
            self.conn.execute(insert(bank_lines), fresh)
        return len(fresh)

    def save_run(
        self,
        at: datetime,
        gateway: str | None,
        on_date: date | None,
        matched: int,
        matchable: int,
        summary: dict[str, Any],
        items: Iterable[dict[str, Any]],
    ) -> int:
        run_id = self.conn.execute(
            insert(reconciliation_runs).returning(reconciliation_runs.c.id),
            {
                "run_at": at,
                "gateway": gateway,
                "on_date": on_date,
                "matched": matched,
                "matchable": matchable,
                "summary": summary,
            },
        ).scalar_one()
        rows = [{**item, "run_id": run_id} for item in items]
        if rows:
            self.conn.execute(insert(reconciliation_items), rows)
        return int(run_id)

    def latest_run(self) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(reconciliation_runs).order_by(reconciliation_runs.c.id.desc()).limit(1)
        ).first()
        return dict(row._mapping) if row else None

    def settlement_count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(settlements)).scalar_one())


def _line(r: Any) -> SettlementLine:
    return SettlementLine(
        r.gateway,
        r.settlement_id,
        r.line_no,
        LineKind(r.kind),
        r.amount,
        r.currency,
        r.occurred_at,
        r.transaction_id,
        r.order_ref,
        r.description,
        r.original_amount,
        r.original_currency,
    )


def _fingerprint(line: BankLine, occurrence: Counter[tuple[Any, ...]]) -> str:
    if line.bank_ref:
        basis: tuple[Any, ...] = (line.account, line.bank_ref)
    else:  # two identical lines on one statement are two lines, not a repeat
        key = (line.account, line.booked_on.isoformat(), line.amount, line.reference)
        occurrence[key] += 1
        basis = (*key, occurrence[key])
    return hashlib.sha256("|".join(map(str, basis)).encode()).hexdigest()
