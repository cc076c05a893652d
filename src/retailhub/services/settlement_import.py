"""Importing settlements read from a file: stored and posted in one transaction, once each.

A settlement already imported (same gateway and settlement id) is skipped, so importing an
overlapping or repeated file is harmless. The caller commits: a file is all or nothing. A
settlement that cannot be posted yet (``fx_rate_missing``: the rates file lacks a rate it
needs) is left out and reported in ``blocked``; the caller refuses the file, and importing it
again once the rates file has the rate posts it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from retailhub.domain.problems import Blocked, Problem
from retailhub.domain.settlements import Settlement
from retailhub.services.handlers.context import ApplyContext
from retailhub.services.handlers.settlements import record_settlement
from retailhub.services.ports import UnitOfWork
from retailhub.services.rules import HubRules


@dataclass
class ImportOutcome:
    imported: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    lines: int = 0
    deposited: int = 0  # sum of the imported settlements' totals, per file currency mix
    blocked: list[tuple[str, Problem]] = field(default_factory=list)  # not postable yet


def import_settlements(
    uow: UnitOfWork,
    rules: HubRules,
    settlements: Sequence[Settlement],
    origin: str,
    now: datetime,
    on_settlement: Callable[[int], None] | None = None,
) -> ImportOutcome:
    outcome = ImportOutcome()
    ctx = ApplyContext(uow, rules, None, f"file:{origin}", now)
    for s in settlements:
        label = f"{s.gateway}:{s.settlement_id}"
        try:
            with uow.savepoint():
                recorded = record_settlement(s, origin, ctx)
        except Blocked as blocked:
            outcome.blocked.append((label, blocked.problem))
            continue
        if recorded:
            outcome.imported.append(label)
            outcome.lines += len(s.lines)
            outcome.deposited += s.total
        else:
            outcome.duplicates.append(label)
        if on_settlement is not None:
            on_settlement(len(s.lines))
    return outcome
