"""Processing: translate each stored delivery and apply it exactly once.

Deliveries are applied in inbox order, a batch per database transaction. The batch's orders
are read up front (``prefetch``); each delivery then runs in its own savepoint of the unit of
work, and its inbox mark commits together with its effects, so a worker killed at any instant
leaves either all of a delivery's effects and its mark, or neither.

Outcomes per delivery:
* applied: effects written; advisory problems (negative stock, …) queued alongside.
* waiting: it needs a record that has not arrived (a refund before its order); the savepoint is
  rolled back and the delivery sleeps until that record is applied, or until the dependency
  timeout turns it into a ``missing_dependency`` exception.
* failed: a blocking problem (invalid payload, unknown SKU, …) is queued with the raw delivery
  kept; ``retry`` puts it back in line.
A bug (any other exception) rolls the batch back; the batch is then redone one delivery per
transaction so the faulty one is isolated as a ``processing_error`` and nothing else is lost.

The exception queue as a workflow (docs/exceptions.md):
* retriable failures (``connector_error``: a vendor API timed out, throttled or failed) are
  marked ``retrying`` and re-queued by the processor itself, with exponential backoff and jitter
  (``ExceptionPolicy.retry_delay``), ``retry_limit`` times; then they stay open for a person.
* a newer applied snapshot of an order resolves the live exceptions of older deliveries of
  that order (their content is superseded); the record is known by ``record_key``.
Every delivery is logged (applied / waiting / failed) with its correlation id bound.
"""

from __future__ import annotations

import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from retailhub.domain.events import (
    EventsReported,
    FulfilmentReported,
    InboundEvent,
    OrderReported,
    RefundReported,
)
from retailhub.domain.problems import Blocked, Problem, ProblemType, Waiting
from retailhub.services import exception_policy
from retailhub.services.exception_policy import ExceptionPolicy
from retailhub.services.handlers import ApplyContext, apply_event
from retailhub.services.ports import Delivery, UnitOfWork, WebhookSource
from retailhub.services.rules import HubRules
from retailhub.services.summaries import summarise

UowFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]

log = structlog.get_logger("retailhub")

# Older deliveries are only re-read for their record when they are order snapshots (Shopify
# ``orders/*`` topics): translating them is pure, whereas other connectors may call their API.
_SNAPSHOT_TOPIC_PREFIX = "orders/"


def record_key(event: InboundEvent | Problem) -> tuple[str, datetime] | None:
    """The record a delivery is a full snapshot of, and the snapshot's time: only orders."""
    if isinstance(event, OrderReported):
        order = event.order
        return f"order:{order.source}:{order.order_id}", order.updated_at
    return None


@dataclass
class ProcessStats:
    applied: int = 0
    waiting: int = 0
    failed: int = 0
    expired: int = 0
    batches: int = 0
    by_problem: dict[str, int] = field(default_factory=dict)

    def count(self, problem: Problem) -> None:
        self.by_problem[problem.type.value] = self.by_problem.get(problem.type.value, 0) + 1


@dataclass
class Processor:
    uow_factory: UowFactory
    sources: Mapping[str, WebhookSource]
    rules: HubRules
    clock: Clock
    batch_size: int = 1000
    # Told, after each committed batch, which SKUs' stock changed (the channel push marks them).
    on_stock_changed: Callable[[set[str]], None] | None = None
    # The exception policy (retry limit and backoff); the installed one when not given.
    policy: ExceptionPolicy | None = None
    # Uniform in [0, 1): the backoff jitter; tests inject a seeded ``random.Random().random``.
    jitter: Callable[[], float] = random.random
    # Older failed order snapshots by record (refreshed every batch): record -> [(exception
    # id, inbox id, snapshot time)], and each inbox id's record once translated.
    _superseded: dict[str, list[tuple[int, int, datetime]]] = field(default_factory=dict)
    _record_of: dict[int, tuple[str, datetime] | None] = field(default_factory=dict)

    @property
    def exception_policy(self) -> ExceptionPolicy:
        return self.policy if self.policy is not None else exception_policy.current()

    def run_until_idle(
        self, max_batches: int | None = None, on_batch: Callable[[int], None] | None = None
    ) -> ProcessStats:
        """Process pending deliveries until none is left (or ``max_batches``), then expire waits."""
        stats = ProcessStats()
        self.requeue_due_retries()
        while max_batches is None or stats.batches < max_batches:
            done = self.process_batch(stats)
            if not done:
                break
            stats.batches += 1
            if on_batch is not None:
                on_batch(done)
        self.expire_waiting(stats)
        self.summarise_closed_days()
        return stats

    def requeue_due_retries(self) -> int:
        """Put deliveries whose automatic retry is due back in line; refresh priorities."""
        now = self.clock()
        with self.uow_factory() as uow:
            due = uow.exceptions.due_retries(now)
            for exception_id, inbox_id in due:
                uow.inbox.requeue(inbox_id)
                uow.exceptions.claim_retry(exception_id, now, f"delivery {inbox_id} requeued")
                log.info("retry_requeued", exception_id=exception_id, inbox_id=inbox_id)
            uow.exceptions.refresh_priorities(now)
            uow.commit()
        return len(due)

    def summarise_closed_days(self) -> None:
        """Daily-summary channels: post every business day that has ended (today stays held)."""
        if not self.rules.summary_channels:
            return
        today = self.clock().astimezone(self.rules.timezone).date()
        with self.uow_factory() as uow:
            if summarise(uow, self.clock(), through=today - timedelta(days=1)).staged:
                uow.commit()

    def process_batch(self, stats: ProcessStats) -> int:
        try:
            with self.uow_factory() as uow:
                batch = uow.inbox.claim_pending(self.batch_size)
                local = ProcessStats()
                translated = [(d, self._translate(d)) for d in batch]
                if batch:
                    self._index_superseded(uow)
                _prefetch(uow, [event for _, event in translated])
                waiting = uow.inbox.waiting_dependencies() if batch else set()
                for delivery, event in translated:
                    self._apply(uow, delivery, event, local, waiting)
                uow.commit()
                changed = uow.inventory.changed_skus()
        except Exception:  # a bug somewhere in the batch: isolate it delivery by delivery
            return self._process_one_by_one(stats)
        _merge(stats, local)
        if changed and self.on_stock_changed is not None:
            self.on_stock_changed(changed)
        return len(batch)

    def _translate(self, delivery: Delivery) -> InboundEvent | Problem:
        source = self.sources.get(delivery.source)
        if source is None:
            return Problem(
                ProblemType.UNKNOWN_TOPIC, f"no connector configured for source {delivery.source!r}"
            )
        return source.translate(delivery.topic, delivery.body)

    def _process_one_by_one(self, stats: ProcessStats) -> int:
        with self.uow_factory() as uow:
            ids = [d.id for d in uow.inbox.claim_pending(self.batch_size)]
        for inbox_id in ids:
            try:
                with self.uow_factory() as uow:
                    delivery = uow.inbox.get(inbox_id)
                    if delivery is None or delivery.status != "pending":
                        continue
                    event = self._translate(delivery)
                    self._index_superseded(uow)
                    waiting = uow.inbox.waiting_dependencies()
                    self._apply(uow, delivery, event, stats, waiting)
                    uow.commit()
                    changed = uow.inventory.changed_skus()
                if changed and self.on_stock_changed is not None:
                    self.on_stock_changed(changed)
            except Exception as exc:
                self._record_bug(inbox_id, exc, stats)
        return len(ids)

    def _record_bug(self, inbox_id: int, exc: Exception, stats: ProcessStats) -> None:
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        problem = Problem(ProblemType.PROCESSING_ERROR, f"internal error while applying: {summary}")
        with self.uow_factory() as uow:
            delivery = uow.inbox.get(inbox_id)
            uow.inbox.mark_failed(inbox_id, problem.reason)
            uow.exceptions.raise_problem(
                problem,
                self.clock(),
                delivery.source if delivery else None,
                inbox_id,
                delivery.correlation_id if delivery else None,
            )
            uow.commit()
        stats.failed += 1
        stats.count(problem)

    def _apply(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        event: InboundEvent | Problem,
        stats: ProcessStats,
        waiting: set[str],
    ) -> None:
        """Apply one delivery; ``waiting`` is the set of dependencies deliveries wait on."""
        with structlog.contextvars.bound_contextvars(
            correlation_id=delivery.correlation_id,
            inbox_id=delivery.id,
            topic=delivery.topic,
            source=delivery.source,
        ):
            self._apply_bound(uow, delivery, event, stats, waiting)

    def _apply_bound(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        event: InboundEvent | Problem,
        stats: ProcessStats,
        waiting: set[str],
    ) -> None:
        now = self.clock()
        if isinstance(event, Problem):
            self._fail(uow, delivery, event, stats, now)
            return
        ctx = ApplyContext(
            uow, self.rules, delivery.id, f"{delivery.source}:{delivery.event_id}", now
        )
        try:
            with uow.savepoint():
                apply_event(event, ctx)
        except Waiting as wait:
            uow.inbox.mark_waiting(delivery.id, wait.dependency, wait.reason)
            waiting.add(wait.dependency)
            stats.waiting += 1
            log.debug("delivery_waiting", waiting_on=wait.dependency)
            return
        except Blocked as blocked:
            self._fail(uow, delivery, ctx.stamped(blocked.problem), stats, now)
            return
        uow.inbox.mark_applied(delivery.id, now)
        if delivery.attempts:  # only an earlier attempt can have left an exception open
            uow.exceptions.resolve_for_delivery(delivery.id, now, "applied")
        for problem in ctx.problems:
            uow.exceptions.raise_problem(
                problem, now, delivery.source, delivery.id, delivery.correlation_id
            )
            stats.count(problem)
        for problem_type, subject in ctx.settled:
            uow.exceptions.resolve_subjects((problem_type,), [subject], now, "put right")
        for dependency in ctx.woken & waiting:
            uow.inbox.wake(dependency)
            waiting.discard(dependency)
        self._resolve_superseded(uow, delivery, event, now)
        stats.applied += 1
        # Debug, not info: one line per applied delivery is the hot path's cost at volume.
        log.debug("delivery_applied", problems=len(ctx.problems))

    def _index_superseded(self, uow: UnitOfWork) -> None:
        """Index the order snapshots behind live blocking exceptions by their record."""
        index: dict[str, list[tuple[int, int, datetime]]] = {}
        for exception_id, inbox_id, source, topic, body in uow.exceptions.live_blocked_deliveries():
            if not topic.startswith(_SNAPSHOT_TOPIC_PREFIX):
                continue
            if inbox_id not in self._record_of:
                connector = self.sources.get(source)
                self._record_of[inbox_id] = (
                    record_key(connector.translate(topic, body)) if connector else None
                )
            found = self._record_of[inbox_id]
            if found is not None:
                index.setdefault(found[0], []).append((exception_id, inbox_id, found[1]))
        self._superseded = index

    def _resolve_superseded(
        self, uow: UnitOfWork, delivery: Delivery, event: InboundEvent, now: datetime
    ) -> None:
        """A newer snapshot of the same record applied: older failed snapshots are moot."""
        found = record_key(event) if self._superseded else None
        if found is None or found[0] not in self._superseded:
            return
        key, snapshot_at = found
        keep = []
        for exception_id, inbox_id, older_at in self._superseded[key]:
            if inbox_id < delivery.id and older_at <= snapshot_at:
                uow.exceptions.set_status(
                    exception_id,
                    "resolved",
                    now,
                    "system",
                    f"superseded: delivery {delivery.id} ({delivery.topic}, {key} as of "
                    f"{snapshot_at.isoformat()}) applied a newer snapshot",
                )
                log.info("exception_superseded", exception_id=exception_id, record=key)
            else:
                keep.append((exception_id, inbox_id, older_at))
        self._superseded[key] = keep

    def _fail(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        problem: Problem,
        stats: ProcessStats,
        now: datetime,
    ) -> None:
        uow.inbox.mark_failed(delivery.id, problem.reason)
        exception_id = uow.exceptions.raise_problem(
            problem, now, delivery.source, delivery.id, delivery.correlation_id
        )
        stats.failed += 1
        stats.count(problem)
        log.info("delivery_failed", problem=problem.type.value, exception_id=exception_id)
        policy = self.exception_policy
        if policy.retriable(problem.type):
            self._schedule_retry(uow, exception_id, policy, now)

    def _schedule_retry(
        self, uow: UnitOfWork, exception_id: int, policy: ExceptionPolicy, now: datetime
    ) -> None:
        """Back off and retry by machine, ``retry_limit`` times; then it waits for a person."""
        row = uow.exceptions.get(exception_id) or {}
        failures = int(str(row.get("attempts", 1)))
        if failures > policy.retry_limit:
            uow.exceptions.note(
                exception_id,
                now,
                "system",
                "retry-limit",
                f"failed {failures} times; automatic retries ({policy.retry_limit}) used up",
            )
            log.warning("retry_limit_reached", exception_id=exception_id, failures=failures)
            return
        due = now + policy.retry_delay(failures, self.jitter())
        uow.exceptions.schedule_retry(
            exception_id,
            due,
            now,
            f"automatic retry {failures} of {policy.retry_limit} at {due.isoformat()}",
        )

    def expire_waiting(self, stats: ProcessStats) -> None:
        """Deliveries that waited longer than the dependency timeout become exceptions."""
        now = self.clock()
        cutoff = now - timedelta(seconds=self.rules.dependency_timeout_seconds)
        with self.uow_factory() as uow:
            for delivery in uow.inbox.expired_waiting(cutoff):
                problem = Problem(
                    ProblemType.MISSING_DEPENDENCY,
                    f"{delivery.topic} delivery {delivery.event_id} still waits after "
                    f"{self.rules.dependency_timeout_seconds}s for a record that has not "
                    "arrived (its order, or the fulfilment of the goods it returns)",
                )
                uow.inbox.mark_failed(delivery.id, problem.reason)
                uow.exceptions.raise_problem(
                    problem, now, delivery.source, delivery.id, delivery.correlation_id
                )
                stats.expired += 1
                stats.count(problem)
            uow.commit()


def _prefetch(uow: UnitOfWork, events: list[InboundEvent | Problem]) -> None:
    """Read every order the batch touches in one go instead of one query per delivery."""
    keys: list[tuple[str, str]] = []
    customers = []
    skus: set[str] = set()
    flat: list[InboundEvent | Problem] = []
    for event in events:  # several facts in one delivery are prefetched like the rest
        flat.extend(event.events if isinstance(event, EventsReported) else (event,))
    for event in flat:
        if isinstance(event, OrderReported):
            keys.append((event.order.source, event.order.order_id))
            skus.update(line.sku for line in event.order.lines if line.sku)
            if event.order.customer is not None:
                customers.append(event.order.customer)
        elif isinstance(event, FulfilmentReported):
            keys.append((event.channel_system, event.fulfilment.order_id))
        elif isinstance(event, RefundReported):
            keys.append((event.channel_system, event.refund.order_id))
    uow.orders.prefetch(keys, customers)
    uow.payments.prefetch(order_id for _, order_id in keys)
    uow.inventory.prefetch(skus)


def _merge(into: ProcessStats, other: ProcessStats) -> None:
    into.applied += other.applied
    into.waiting += other.waiting
    into.failed += other.failed
    for key, value in other.by_problem.items():
        into.by_problem[key] = into.by_problem.get(key, 0) + value
