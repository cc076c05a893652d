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
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from retailhub.domain.events import (
    EventsReported,
    FulfilmentReported,
    InboundEvent,
    OrderReported,
    RefundReported,
)
from retailhub.domain.problems import Blocked, Problem, ProblemType, Waiting
from retailhub.services.handlers import ApplyContext, apply_event
from retailhub.services.ports import Delivery, UnitOfWork, WebhookSource
from retailhub.services.rules import HubRules
from retailhub.services.summaries import summarise

UowFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]


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

    def run_until_idle(
        self, max_batches: int | None = None, on_batch: Callable[[int], None] | None = None
    ) -> ProcessStats:
        """Process pending deliveries until none is left (or ``max_batches``), then expire waits."""
        stats = ProcessStats()
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
            return
        except Blocked as blocked:
            self._fail(uow, delivery, blocked.problem, stats, now)
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
        stats.applied += 1

    def _fail(
        self,
        uow: UnitOfWork,
        delivery: Delivery,
        problem: Problem,
        stats: ProcessStats,
        now: datetime,
    ) -> None:
        uow.inbox.mark_failed(delivery.id, problem.reason)
        uow.exceptions.raise_problem(
            problem, now, delivery.source, delivery.id, delivery.correlation_id
        )
        stats.failed += 1
        stats.count(problem)

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
