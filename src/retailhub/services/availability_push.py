"""Availability push: each stock change reaches every channel that sells the SKU, coalesced.

Why a coordinator rather than a push from each handler: a flash sale marks one SKU hundreds of
times a second, and channels take a few requests a second at most (Shopify REST leaks 2 a second).
So a change only *marks* the SKU; per channel, the SKU's window stays open for ``interval`` from
its oldest unpushed mark, and one push then carries the level read at that moment, which already
includes every change since. That push also takes every other SKU waiting for the channel, so a
channel gets at most one call per interval (more only when one call cannot carry them all) and a
SKU at most one push per interval. A level the channel already holds (its last acknowledgement)
is not sent again. Every pushed quantity is audited with what, when, why and the channel's answer, so
"why did Shopify show 3?" is a lookup.

Ports defined here (kept next to the only code that uses them):

* ``LevelsOf``: ``levels(sku) -> {LevelKey(channel, location_id, item_id): quantity}``, the true
  level per channel location, e.g. ATP computed from the inventory ledger;
* ``PushTarget``: one per channel, ``push(updates) -> results`` in the same order;
* ``PushAudit``: where push records go (``InMemoryPushAudit`` here; SQL elsewhere).

Threads: ``mark`` may be called from any thread. Pushing is either driven explicitly with
``drain()`` (tests, a CLI loop) or by ``start()``, which runs one pusher thread per channel so a
slow channel never holds back a fast one. Time comes only from the injected clock.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

REASONS_KEPT = 20  # distinct reasons kept per push; ``marks`` still counts every one
ANSWER_EXCERPT = 300  # characters of the channel's answer kept in the audit
# Waiting SKUs whose levels one push call reads (oldest first). Shopify takes one level per call
# when throttled; without a bound, an opening sync of 100k SKUs would read 100k levels per call.
SCAN_LIMIT = 500


class LevelKey(NamedTuple):
    """Where one level lives at a channel: its location id and its id for the item there.

    Shopify: (``"shopify"``, location id, inventory item id); Square: (``"square"``, location id,
    catalog object id of the item variation). A plain 3-tuple compares and hashes the same.
    """

    channel: str
    location_id: str
    item_id: str


LevelsOf = Callable[[str], Mapping[LevelKey, int]]
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class LevelUpdate:
    """One level to set at a channel; ``as_of`` is when the hub read it (Square's occurred_at)."""

    sku: str
    channel: str
    location_id: str
    item_id: str
    quantity: int
    as_of: datetime

    @property
    def key(self) -> LevelKey:
        return LevelKey(self.channel, self.location_id, self.item_id)


@dataclass(frozen=True, slots=True)
class PushResult:
    """The channel's answer to one update.

    ``status`` is the HTTP status when an answer arrived (None when nothing did); ``answer`` is
    an excerpt of the body or the error; ``retriable`` failures are tried again after
    ``retry_after``; ``acked_at`` is when the channel acknowledged (None: when ``push`` returned).
    """

    update: LevelUpdate
    accepted: bool
    status: int | None
    answer: str
    retriable: bool = False
    acked_at: datetime | None = None


class PushTarget(Protocol):
    """A channel's outbound inventory client, implemented by each connector."""

    @property
    def max_batch(self) -> int:
        """How many updates one ``push`` should carry now (Square 100; Shopify what its bucket
        can send without waiting), so levels are read just before they are sent."""

    def push(self, updates: Sequence[LevelUpdate]) -> list[PushResult]:
        """Send ``updates``; one result per update, same order; never raises for a vendor error."""


@dataclass(frozen=True, slots=True)
class PushRecord:
    """The audit of one pushed quantity: what, when, why, and the channel's answer."""

    sku: str
    channel: str
    location_id: str
    item_id: str
    quantity: int
    previous: int | None  # what the channel held by our last acknowledgement (None: unknown)
    reasons: tuple[str, ...]  # e.g. ("order 1001", "refund 17"); at most REASONS_KEPT
    marks: int  # stock changes coalesced into this push
    marked_at: datetime  # the oldest coalesced change
    sent_at: datetime
    acked_at: datetime | None
    accepted: bool
    status: int | None
    answer: str
    retriable: bool = False

    @property
    def latency(self) -> timedelta | None:
        """Stock event to channel acknowledgement, for accepted pushes."""
        if not self.accepted or self.acked_at is None:
            return None
        return self.acked_at - self.marked_at


class PushAudit(Protocol):
    def record(self, records: Sequence[PushRecord]) -> None:
        """Store the records of one push call (one transaction)."""


class InMemoryPushAudit:
    """The audit kept in a list; ``last`` answers "why does this channel show that level?"."""

    def __init__(self) -> None:
        self.records: list[PushRecord] = []
        self._lock = threading.Lock()

    def record(self, records: Sequence[PushRecord]) -> None:
        with self._lock:
            self.records.extend(records)

    def history(self, key: LevelKey) -> list[PushRecord]:
        with self._lock:
            return [r for r in self.records if (r.channel, r.location_id, r.item_id) == key]

    def last(self, key: LevelKey) -> PushRecord | None:
        """The most recent accepted push of ``key``: the level the channel was told, and why."""
        accepted = [r for r in self.history(key) if r.accepted]
        return accepted[-1] if accepted else None


@dataclass
class PushStats:
    """Counters per channel; ``marks / levels`` is the coalescing ratio."""

    marks: int = 0
    skipped: int = 0  # due SKUs whose level the channel already held
    calls: int = 0  # PushTarget.push calls
    levels: int = 0  # levels sent
    accepted: int = 0
    rejected: int = 0  # refused for good (unknown item, bad credentials): not retried
    retried: int = 0  # failed transiently: pushed again after retry_after


@dataclass(slots=True)
class _Pending:
    """The unpushed marks of one SKU for one channel.

    ``due``: when its window closes; ``not_before``: set after a transient failure, the SKU is not
    sent again before then, not even riding along with another SKU's push.
    """

    first_at: datetime
    due: datetime
    reasons: list[str] = field(default_factory=list)
    marks: int = 0
    not_before: datetime | None = None

    def eligible(self, now: datetime) -> bool:
        return self.not_before is None or self.not_before <= now

    @property
    def ready_at(self) -> datetime:
        """When this entry alone makes a push happen."""
        return self.due if self.not_before is None else max(self.due, self.not_before)

    def add(self, reason: str, at: datetime, interval: timedelta) -> None:
        self.first_at = min(self.first_at, at)
        self.due = min(self.due, at + interval)
        self.marks += 1
        if reason not in self.reasons and len(self.reasons) < REASONS_KEPT:
            self.reasons.append(reason)

    def absorb(self, newer: _Pending) -> None:
        self.first_at = min(self.first_at, newer.first_at)
        self.due = min(self.due, newer.due)
        if newer.not_before is not None:
            self.not_before = max(self.not_before or newer.not_before, newer.not_before)
        self.marks += newer.marks
        for reason in newer.reasons:
            if reason not in self.reasons and len(self.reasons) < REASONS_KEPT:
                self.reasons.append(reason)


@dataclass(slots=True)
class _Candidate:
    sku: str
    pending: _Pending
    updates: list[LevelUpdate]
    urgency: tuple[bool, bool, datetime, str]


class PushCoordinator:
    """Coalesces stock marks per SKU and channel and pushes the latest level once per window.

    ``interval`` is the coalescing window, counted from a SKU's oldest unpushed mark (zero pushes
    at the next drain). ``retry_after`` is the wait after a transient failure (default: the
    larger of ``interval`` and 1 s). Within one channel, sold-out SKUs go first, then decreases,
    then the oldest window: when a channel's rate limit cannot keep up, the level most likely to
    oversell is corrected first.
    """

    def __init__(
        self,
        levels: LevelsOf,
        targets: Mapping[str, PushTarget],
        audit: PushAudit,
        *,
        clock: Clock,
        interval: timedelta = timedelta(seconds=1),
        retry_after: timedelta | None = None,
        idle_wait: float = 1.0,
    ) -> None:
        if interval < timedelta(0):
            raise ValueError(f"interval must not be negative, got {interval}")
        self._levels = levels
        self._targets = dict(targets)
        self._audit = audit
        self._clock = clock
        self.interval = interval
        # A transient failure is retried no sooner than this; never zero, or a failing channel
        # would be hammered in a tight loop.
        self.retry_after = retry_after or max(interval, timedelta(seconds=1))
        if self.retry_after <= timedelta(0):
            raise ValueError(f"retry_after must be positive, got {retry_after}")
        self._idle_wait = idle_wait
        self._pending: dict[str, dict[str, _Pending]] = {c: {} for c in self._targets}
        self._held: dict[LevelKey, int] = {}
        self.stats: dict[str, PushStats] = {c: PushStats() for c in self._targets}
        self._cond = threading.Condition()
        self._busy = {c: threading.Lock() for c in self._targets}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.last_error: BaseException | None = None

    # -- feeding -------------------------------------------------------------------------------

    def mark(self, sku: str, reason: str, at: datetime) -> None:
        """Stock of ``sku`` changed at ``at`` because of ``reason`` (e.g. ``"order 1001"``)."""
        with self._cond:
            for channel, pending in self._pending.items():
                entry = pending.get(sku)
                if entry is None:
                    pending[sku] = _Pending(at, at + self.interval, [reason], 1)
                else:
                    entry.add(reason, at, self.interval)
                self.stats[channel].marks += 1
            self._cond.notify_all()

    def observe_channel(self, key: LevelKey, quantity: int | None) -> None:
        """What the channel reports holding (a webhook, a reconciliation read); None: unknown.

        The next push of that SKU compares against this instead of our last acknowledgement, so
        a level the channel changed on its own (its own sale) is corrected. Mark the SKU too.
        """
        with self._cond:
            if quantity is None:
                self._held.pop(key, None)
            else:
                self._held[key] = quantity

    # -- reading -------------------------------------------------------------------------------

    def held(self, key: LevelKey) -> int | None:
        """The level the channel holds by its last acknowledgement, or None if unknown."""
        with self._cond:
            return self._held.get(key)

    def pending(self, channel: str | None = None) -> int:
        """How many SKUs wait for a push (to ``channel``, or to any channel)."""
        with self._cond:
            channels = [channel] if channel is not None else list(self._pending)
            return sum(len(self._pending[c]) for c in channels)

    def next_due(self, channel: str) -> datetime | None:
        with self._cond:
            return self._next_due_locked(channel)

    # -- pushing -------------------------------------------------------------------------------

    def drain(self, channel: str | None = None) -> list[PushRecord]:
        """Push everything due now (to ``channel``, or to every channel); the audit records."""
        done: list[PushRecord] = []
        for name in [channel] if channel is not None else list(self._targets):
            with self._busy[name]:
                while (batch := self._push_once(name)) is not None:
                    done.extend(batch)
        return done

    def start(self) -> None:
        """Run one pusher thread per channel until ``stop``."""
        if self._threads:
            raise RuntimeError("the push coordinator is already running")
        self._stopping.clear()
        for name in self._targets:
            thread = threading.Thread(target=self._run, args=(name,), name=f"push-{name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def _run(self, channel: str) -> None:
        while not self._stopping.is_set():
            with self._cond:
                due = self._next_due_locked(channel)
                now = self._clock()
                if due is None or due > now:
                    wait = self._idle_wait
                    if due is not None:
                        wait = min(wait, (due - now).total_seconds())
                    self._cond.wait(max(wait, 0.001))
                    continue
            try:
                self.drain(channel)
            except Exception as exc:  # keep pushing the other SKUs; the error is kept for health
                self.last_error = exc
                self._stopping.wait(max(self.retry_after.total_seconds(), 0.01))

    def _next_due_locked(self, channel: str) -> datetime | None:
        pending = self._pending[channel]
        return min((p.ready_at for p in pending.values()), default=None)

    def _push_once(self, channel: str) -> list[PushRecord] | None:
        """One push call to ``channel`` if a SKU's window has closed; None if none has.

        The call carries every waiting SKU, not only those due: riding along costs no extra call
        (Square takes 100 counts per call), brings the level sooner, and leaves the channel's
        waiting set empty, so the next call is at least ``interval`` later and no SKU is pushed
        more than once per interval. When the target takes fewer than are waiting, the most
        urgent go first (among the ``SCAN_LIMIT`` oldest) and the rest keep their place.
        """
        now = self._clock()
        target = self._targets[channel]
        scan = max(SCAN_LIMIT, target.max_batch)
        with self._cond:
            pending = self._pending[channel]
            if not any(p.ready_at <= now for p in pending.values()):
                return None
            eligible = [(p.first_at, sku) for sku, p in pending.items() if p.eligible(now)]
            if len(eligible) > scan:
                eligible = heapq.nsmallest(scan, eligible)
            due = {sku: pending.pop(sku) for _, sku in eligible}
        try:
            candidates = self._candidates(channel, due)
        except BaseException:
            self._requeue(channel, due.items())
            raise
        candidates.sort(key=lambda c: c.urgency)
        limit = max(1, target.max_batch)
        chosen: list[_Candidate] = []
        size = 0
        for candidate in candidates:
            if size >= limit:
                break
            chosen.append(candidate)
            size += len(candidate.updates)
        self._requeue(channel, [(c.sku, c.pending) for c in candidates[len(chosen) :]])
        if not chosen:
            return []
        return self._send(channel, target, chosen)

    def _candidates(self, channel: str, due: Mapping[str, _Pending]) -> list[_Candidate]:
        as_of = self._clock()
        out: list[_Candidate] = []
        for sku, entry in due.items():
            wanted = {k: q for k, q in self._levels(sku).items() if k[0] == channel}
            with self._cond:
                held = {k: self._held.get(LevelKey(*k)) for k in wanted}
            updates = [
                LevelUpdate(sku, channel, k[1], k[2], q, as_of)
                for k, q in sorted(wanted.items())
                if held[k] != q
            ]
            if not updates:
                self.stats[channel].skipped += 1
                continue
            sold_out = any(u.quantity <= 0 and (held[u.key] or 1) > 0 for u in updates)
            falling = any(held[u.key] is None or u.quantity < (held[u.key] or 0) for u in updates)
            urgency = (not sold_out, not falling, entry.first_at, sku)
            out.append(_Candidate(sku, entry, updates, urgency))
        return out

    def _send(self, channel: str, target: PushTarget, chosen: list[_Candidate]) -> list[PushRecord]:
        updates = [u for c in chosen for u in c.updates]
        sent_at = self._clock()
        try:
            results = target.push(updates)
            if len(results) != len(updates):
                raise RuntimeError(
                    f"{channel} push target answered {len(results)} results for "
                    f"{len(updates)} updates"
                )
        except BaseException:
            self._requeue(channel, [(c.sku, c.pending) for c in chosen])
            raise
        returned_at = self._clock()
        stats = self.stats[channel]
        stats.calls += 1
        stats.levels += len(updates)
        records: list[PushRecord] = []
        retry: list[tuple[str, _Pending]] = []
        by_update = iter(results)
        with self._cond:
            for candidate in chosen:
                again = False
                for update in candidate.updates:
                    result = next(by_update)
                    records.append(self._record(candidate, update, result, sent_at, returned_at))
                    if result.accepted:
                        self._held[update.key] = update.quantity
                        stats.accepted += 1
                    elif result.retriable:
                        stats.retried += 1
                        again = True
                    else:
                        stats.rejected += 1
                if again:
                    candidate.pending.due = returned_at + self.retry_after
                    candidate.pending.not_before = candidate.pending.due
                    retry.append((candidate.sku, candidate.pending))
        self._requeue(channel, retry)
        self._audit.record(records)
        return records

    def _record(
        self,
        candidate: _Candidate,
        update: LevelUpdate,
        result: PushResult,
        sent_at: datetime,
        returned_at: datetime,
    ) -> PushRecord:
        acked_at = (result.acked_at or returned_at) if result.accepted else None
        return PushRecord(
            sku=update.sku,
            channel=update.channel,
            location_id=update.location_id,
            item_id=update.item_id,
            quantity=update.quantity,
            previous=self._held.get(update.key),
            reasons=tuple(candidate.pending.reasons),
            marks=candidate.pending.marks,
            marked_at=candidate.pending.first_at,
            sent_at=sent_at,
            acked_at=acked_at,
            accepted=result.accepted,
            status=result.status,
            answer=result.answer[:ANSWER_EXCERPT],
            retriable=result.retriable,
        )

    def _requeue(self, channel: str, entries: Iterable[tuple[str, _Pending]]) -> None:
        """Put popped SKUs back, merged with marks that arrived meanwhile."""
        items = list(entries)
        if not items:
            return
        with self._cond:
            pending = self._pending[channel]
            for sku, entry in items:
                newer = pending.get(sku)
                if newer is not None:
                    entry.absorb(newer)
                pending[sku] = entry
            self._cond.notify_all()


# -- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Push latency (stock event to acknowledgement) in seconds over accepted pushes."""

    count: int
    p50: float
    p99: float
    max: float


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary(records: Sequence[PushRecord]) -> LatencySummary:
    seconds = [lat.total_seconds() for r in records if (lat := r.latency) is not None]
    return LatencySummary(
        count=len(seconds),
        p50=percentile(seconds, 50),
        p99=percentile(seconds, 99),
        max=max(seconds, default=math.nan),
    )
