"""Intake: verify, store durably, acknowledge. No processing happens here.

A delivery that fails its signature check is not admitted to the inbox (it must never be
applied) but is kept, with its headers and raw body, as a ``signature_failure`` exception so a
wrong secret can be fixed and the delivery admitted on retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from retailhub.domain.problems import Problem, ProblemType
from retailhub.services.ports import UnitOfWork, WebhookSource


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
        exception_id = uow.exceptions.raise_problem(
            Problem(
                ProblemType.SIGNATURE_FAILURE,
                f"{source.name} delivery failed signature verification; not admitted",
                subject=f"delivery:{source.name}:{headers.get('x-shopify-event-id', '?')}",
            ),
            now,
            source.name,
            None,
            correlation_id,
            headers=headers,
            payload=body,
        )
        return Receipt("rejected", exception_id=exception_id, correlation_id=correlation_id)
    return admit(uow, source, headers, body, now, correlation_id)


def admit(
    uow: UnitOfWork,
    source: WebhookSource,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    correlation_id: str,
) -> Receipt:
    event_id = source.event_id(headers, body)
    inbox_id = uow.inbox.add(
        source.name, event_id, source.topic(headers), headers, body, now, correlation_id
    )
    if inbox_id is None:
        uow.inbox.count_duplicate(source.name, event_id)
        return Receipt("duplicate", correlation_id=correlation_id)
    return Receipt("accepted", inbox_id=inbox_id, correlation_id=correlation_id)
