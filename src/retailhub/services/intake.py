"""Intake: verify, store durably, acknowledge. No processing happens here.

Every delivery is logged with its correlation id bound (``delivery.received`` /
``delivery.duplicate`` / ``delivery.rejected``), the id processing binds again when it applies
the delivery, so one id follows an event from intake to journal (docs/monitoring.md).

A delivery that fails its signature check is not admitted to the inbox (it must never be
applied) but is kept, with its headers and raw body, as a ``signature_failure`` exception so a
wrong secret can be fixed and the delivery admitted on retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from structlog.contextvars import bound_contextvars

from retailhub.domain.problems import Problem, ProblemType
from retailhub.observability import get_logger
from retailhub.services.ports import InboxRow, UnitOfWork, WebhookSource

log = get_logger("retailhub.intake")


@dataclass(frozen=True, slots=True)
class Receipt:
    status: Literal["accepted", "duplicate", "rejected"]
    inbox_id: int | None = None
    exception_id: int | None = None
    correlation_id: str | None = None


def normalise_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """HTTP header names are case-insensitive; we store them lower-cased."""
    return {k.lower(): v for k, v in headers.items()}


def receive(
    uow: UnitOfWork, source: WebhookSource, headers: Mapping[str, str], body: bytes, now: datetime
) -> Receipt:
    """Store one delivery (the caller commits). Duplicates by (source, event id) are counted, not stored."""
    headers = normalise_headers(headers)
    correlation_id = uuid.uuid4().hex
    if not source.verify(headers, body):
        event_id = _event_id_or_unknown(source, headers, body)
        exception_id = uow.exceptions.raise_problem(
            Problem(
                ProblemType.SIGNATURE_FAILURE,
                f"{source.name} delivery failed signature verification; not admitted",
                subject=f"delivery:{source.name}:{event_id}",
            ),
            now,
            source.name,
            None,
            correlation_id,
            headers=headers,
            payload=body,
        )
        with bound_contextvars(correlation_id=correlation_id):
            log.warning(
                "delivery.rejected",
                source=source.name,
                topic=_topic_or_unknown(source, headers, body),
                event_id=event_id,
                exception_id=exception_id,
                reason="signature verification failed",
            )
        return Receipt("rejected", exception_id=exception_id, correlation_id=correlation_id)
    return admit(uow, source, headers, body, now, correlation_id)


def _event_id_or_unknown(source: WebhookSource, headers: Mapping[str, str], body: bytes) -> str:
    """The delivery's id for the exception's subject; a refused body may not even parse."""
    try:
        return source.event_id(headers, body)
    except Exception:  # any failure here only loses a label
        return "?"


def _topic_or_unknown(source: WebhookSource, headers: Mapping[str, str], body: bytes) -> str:
    try:
        return source.topic(headers, body)
    except Exception:  # any failure here only loses a label
        return "?"


def admit(
    uow: UnitOfWork,
    source: WebhookSource,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    correlation_id: str,
) -> Receipt:
    event_id = source.event_id(headers, body)
    topic = source.topic(headers, body)
    inbox_id = uow.inbox.add(source.name, event_id, topic, headers, body, now, correlation_id)
    with bound_contextvars(correlation_id=correlation_id):
        if inbox_id is None:
            uow.inbox.count_duplicate(source.name, event_id)
            # A duplicate is not stored: this id is the attempt's own, not the inbox row's.
            log.info("delivery.duplicate", source=source.name, topic=topic, event_id=event_id)
            return Receipt("duplicate", correlation_id=correlation_id)
        log.info(
            "delivery.received",
            source=source.name,
            topic=topic,
            event_id=event_id,
            inbox_id=inbox_id,
        )
    return Receipt("accepted", inbox_id=inbox_id, correlation_id=correlation_id)


def receive_many(
    uow: UnitOfWork,
    source: WebhookSource,
    deliveries: Sequence[tuple[Mapping[str, str], bytes]],
    now: datetime,
) -> list[Receipt]:
    """Store many deliveries at once (captured replays, backfills); the caller commits.

    Same rules as ``receive``, one delivery at a time: each is verified, refused ones become
    exceptions, and a (source, event id) already stored, or seen earlier in the same call, is
    counted as a duplicate. Rows are written together, which is what makes a replay fast.
    """
    receipts: list[Receipt] = []
    fresh: list[InboxRow] = []
    seen: set[str] = set()
    for raw_headers, body in deliveries:
        headers = normalise_headers(raw_headers)
        if not source.verify(headers, body):
            receipts.append(receive(uow, source, headers, body, now))  # refused, queued
            continue
        event_id = source.event_id(headers, body)
        if event_id in seen:
            receipts.append(Receipt("duplicate"))
            uow.inbox.count_duplicate(source.name, event_id)
            continue
        seen.add(event_id)
        correlation_id = uuid.uuid4().hex
        fresh.append(
            InboxRow(
                source.name,
                event_id,
                source.topic(headers, body),
                headers,
                body,
                now,
                correlation_id,
            )
        )
        receipts.append(Receipt("accepted", correlation_id=correlation_id))
    stored = uow.inbox.add_many(fresh)
    for i, receipt in enumerate(receipts):
        if receipt.status == "accepted" and receipt.correlation_id not in stored:
            receipts[i] = Receipt("duplicate", correlation_id=receipt.correlation_id)
    _log_batch(source.name, [row for row in fresh if row.correlation_id in stored], receipts)
    return receipts


def _log_batch(source: str, rows: Sequence[InboxRow], receipts: Sequence[Receipt]) -> None:
    """One summary line at INFO; a line per stored row at DEBUG (a replay can hold
    hundreds of thousands, and the filtering logger makes the skipped calls nearly free)."""
    duplicates = sum(1 for r in receipts if r.status == "duplicate")
    for row in rows:
        with bound_contextvars(correlation_id=row.correlation_id):
            log.debug("delivery.received", source=source, topic=row.topic, event_id=row.event_id)
    log.info(
        "deliveries.received",
        source=source,
        accepted=sum(1 for r in receipts if r.status == "accepted"),
        duplicate=duplicates,
        rejected=sum(1 for r in receipts if r.status == "rejected"),
    )
