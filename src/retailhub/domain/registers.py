"""Register sequence checks: is anything missing, repeated or contradictory in a POS batch?

Every record a register writes carries the next number of that register's sequence (1, 2, 3 …
with no holes), so the numbers alone tell a store manager what a late batch lacks:

- a **gap**: numbers skipped, inside the batch or between the last number the hub holds and
  the batch. Sales may be missing from the books; someone must find the register's export.
- a **repeat**: a number that arrives again with the same content. Harmless (the inbox dedups
  it by the same id) but reported, since a register resending its day is worth knowing.
- a **conflict**: a number that arrives again with different content. Serious: two different
  sales under one number means the register (or someone editing its file) cannot be trusted.

Content is compared by a fingerprint the caller computes (a hash of the record's canonical
form), so this module needs no knowledge of the format. ``order_for_apply`` then puts records
from registers that were offline for hours into event time, so a late batch applies as if it
had arrived when it happened.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TypeVar

IssueKind = Literal["gap", "repeat", "conflict"]
RegisterKey = tuple[str, str]  # (store, register)


@dataclass(frozen=True, slots=True, kw_only=True)
class SequenceIssue:
    """A gap names the missing numbers (``first_missing``..``last_missing``, both included);
    a repeat or a conflict names the number that came again (``seq``)."""

    store: str
    register: str
    kind: IssueKind
    message: str
    seq: int | None = None
    first_missing: int | None = None
    last_missing: int | None = None

    @property
    def missing(self) -> int:
        """How many records a gap lacks (0 for repeats and conflicts)."""
        if self.first_missing is None or self.last_missing is None:
            return 0
        return self.last_missing - self.first_missing + 1

    @property
    def position(self) -> int:
        """Where in the sequence the issue is, for sorting."""
        return self.seq if self.seq is not None else self.first_missing or 0


def check_sequences(
    records: Iterable[tuple[str, str, int, str]],
    last_seen: Mapping[RegisterKey, int],
    seen_fingerprints: Mapping[tuple[str, str, int], str] | None = None,
) -> list[SequenceIssue]:
    """Gaps, repeats and conflicts in a batch of (store, register, seq, fingerprint).

    ``last_seen`` holds the highest number the hub already has per register. A register not in
    it is new to the hub: its history starts at the batch's lowest number (the hub may be
    connected to a register already in service); pass 0 to insist it starts at 1.

    ``seen_fingerprints`` holds the fingerprints of records already stored. With it, a number
    at or below ``last_seen`` that the hub lacks fills an earlier gap (no issue), and one it
    holds is a repeat or a conflict by content. Without it every such number is taken as a
    repeat, since nothing can be compared.

    Issues come sorted by store, register and position in the sequence.
    """
    batch: dict[RegisterKey, dict[int, list[str]]] = {}
    for store, register, seq, fingerprint in records:
        batch.setdefault((store, register), {}).setdefault(seq, []).append(fingerprint)
    issues: list[SequenceIssue] = []
    for key, numbers in batch.items():
        last = last_seen.get(key)
        for seq, prints in numbers.items():
            issue = _again(key, seq, prints, last, seen_fingerprints)
            if issue is not None:
                issues.append(issue)
        issues.extend(_gaps(key, sorted(numbers), last))
    return sorted(issues, key=lambda i: (i.store, i.register, i.position, i.kind))


def _again(
    key: RegisterKey,
    seq: int,
    prints: list[str],
    last: int | None,
    seen: Mapping[tuple[str, str, int], str] | None,
) -> SequenceIssue | None:
    store, register = key
    where = f"store {store} register {register} seq {seq}"
    stored = seen.get((store, register, seq)) if seen is not None else None
    if stored is not None:
        if any(p != stored for p in prints):
            return _issue(
                key, "conflict", seq,
                f"{where} arrived again with different content than the record already "
                "stored; the stored record stands — check the register before going on",
            )  # fmt: skip
        return _issue(key, "repeat", seq, f"{where} was already received; the copy is ignored")
    if len(set(prints)) > 1:
        return _issue(
            key, "conflict", seq,
            f"{where} appears {len(prints)} times in the batch with different content; "
            "check the register before applying either",
        )  # fmt: skip
    if len(prints) > 1:
        return _issue(
            key, "repeat", seq, f"{where} appears {len(prints)} times in the batch, alike"
        )
    if seen is None and last is not None and seq <= last:
        return _issue(
            key, "repeat", seq,
            f"{where} is not after the last number received ({last}); taken as a repeat "
            "(content not compared)",
        )  # fmt: skip
    return None


def _gaps(key: RegisterKey, numbers: list[int], last: int | None) -> list[SequenceIssue]:
    store, register = key
    new = [n for n in numbers if last is None or n > last]
    if not new:
        return []
    gaps: list[SequenceIssue] = []
    expected = new[0] if last is None else last + 1
    for n in new:
        if n > expected:
            count = n - expected
            after = f"after {expected - 1}" if expected > 1 else "at the start"
            gaps.append(
                SequenceIssue(
                    store=store,
                    register=register,
                    kind="gap",
                    first_missing=expected,
                    last_missing=n - 1,
                    message=(
                        f"store {store} register {register}: {count} record"
                        f"{'s' if count > 1 else ''} missing, "
                        + (f"seq {expected}" if count == 1 else f"seq {expected} to {n - 1}")
                        + f" ({after}, before {n})"
                    ),
                )
            )
        expected = n + 1
    return gaps


def _issue(key: RegisterKey, kind: IssueKind, seq: int, message: str) -> SequenceIssue:
    return SequenceIssue(store=key[0], register=key[1], kind=kind, seq=seq, message=message)


# -- applying in event time ----------------------------------------------------------------


class Sequenced(Protocol):
    """A register record as far as ordering is concerned."""

    @property
    def store(self) -> str: ...

    @property
    def register(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def timestamp(self) -> datetime: ...  # aware: the original time at the register


S = TypeVar("S", bound=Sequenced)


def order_for_apply(records: Iterable[S]) -> list[S]:
    """Records in event time: by original timestamp, then store, register and number.

    A register's own records keep their sequence order even if its clock stepped back (a
    daylight-saving change, a clock fix): each register's records are sorted by number and the
    registers merged by time, which is a plain sort by time whenever the clocks run forward.
    """
    streams: dict[RegisterKey, list[S]] = {}
    for record in records:
        streams.setdefault((record.store, record.register), []).append(record)
    runs = [sorted(run, key=lambda r: r.seq) for run in streams.values()]
    return list(heapq.merge(*runs, key=_event_time))


def _event_time(record: Sequenced) -> tuple[datetime, str, str, int]:
    return (record.timestamp, record.store, record.register, record.seq)
