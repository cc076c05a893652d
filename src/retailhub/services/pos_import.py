"""Importing a POS batch: check each register's sequence, then admit records in event time.

A register offline for hours uploads its day late. Its records are admitted to the inbox in
the order they happened (``order_for_apply``), each deduplicated by ``STORE:REGISTER:SEQ``, and
applied by the processor like any delivery, dated by their original timestamps. Before that,
the numbers are checked against what earlier batches brought: a gap (records missing), a
repeat (a record sent again) or a conflict (a number reused for different content) is queued
as a ``sequence_gap`` exception for the store, with the record kept when it is not admitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from retailhub.domain.problems import Problem, ProblemType
from retailhub.domain.registers import SequenceIssue, check_sequences, order_for_apply
from retailhub.services.intake import receive_many
from retailhub.services.ports import UnitOfWork, WebhookSource

RegisterKey = tuple[str, str]


class BatchRecord(Protocol):
    @property
    def store(self) -> str: ...

    @property
    def register(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def timestamp(self) -> datetime: ...

    @property
    def body(self) -> bytes: ...

    @property
    def fingerprint(self) -> str: ...


class FeedState(Protocol):
    def last_seen(self, registers: Sequence[RegisterKey]) -> dict[RegisterKey, int]: ...

    def fingerprints(self, event_ids: Sequence[str]) -> dict[tuple[str, str, int], str]: ...

    def advance(self, last: Mapping[RegisterKey, int]) -> None: ...


@dataclass
class PosImportOutcome:
    admitted: int = 0
    duplicates: int = 0
    issues: list[SequenceIssue] = field(default_factory=list)


def import_pos_batch(
    uow: UnitOfWork,
    source: WebhookSource,
    state: FeedState,
    records: Sequence[BatchRecord],
    now: datetime,
    origin: str,
) -> PosImportOutcome:
    """Check, queue issues and admit; the caller commits, then runs the processor."""
    registers = sorted({(r.store, r.register) for r in records})
    ids = [f"{r.store}:{r.register}:{r.seq}" for r in records]
    issues = check_sequences(
        ((r.store, r.register, r.seq, r.fingerprint) for r in records),
        state.last_seen(registers),
        state.fingerprints(ids),
    )
    by_number = {(r.store, r.register, r.seq): r for r in records}
    for issue in issues:
        kept = by_number.get((issue.store, issue.register, issue.seq or -1))
        uow.exceptions.raise_problem(
            Problem(
                ProblemType.SEQUENCE_GAP,
                f"{origin}: {issue.message}",
                blocking=False,
                subject=_subject(issue),
            ),
            now,
            source.name,
            None,
            None,
            payload=kept.body if kept is not None and issue.kind == "conflict" else None,
        )
    ordered = order_for_apply(records)
    receipts = receive_many(uow, source, [({}, r.body) for r in ordered], now)
    outcome = PosImportOutcome(issues=issues)
    outcome.admitted = sum(1 for r in receipts if r.status == "accepted")
    outcome.duplicates = sum(1 for r in receipts if r.status == "duplicate")
    last: dict[RegisterKey, int] = {}
    for r in records:
        key = (r.store, r.register)
        last[key] = max(last.get(key, 0), r.seq)
    state.advance(last)
    return outcome


def _subject(issue: SequenceIssue) -> str:
    where = f"register:{issue.store}:{issue.register}"
    if issue.kind == "gap":
        return f"{where}:gap:{issue.first_missing}-{issue.last_missing}"
    return f"{where}:{issue.kind}:{issue.seq}"
