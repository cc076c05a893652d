"""Actions on the exception queue: retry puts the delivery back in line (or re-verifies it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retailhub.services.intake import admit
from retailhub.services.ports import UnitOfWork, WebhookSource


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    exception_id: int
    status: str  # "requeued", "admitted", "still-rejected", "not-retriable", "not-found"
    detail: str


def retry(
    uow: UnitOfWork,
    exception_id: int,
    sources: Mapping[str, WebhookSource],
    now: datetime,
    actor: str = "cli",
) -> ActionOutcome:
    """Requeue the delivery behind an exception; the next processing run applies or re-fails it."""
    row: Mapping[str, Any] | None = uow.exceptions.get(exception_id)
    if row is None:
        return ActionOutcome(exception_id, "not-found", "no such exception")
    if row["status"] in ("resolved", "ignored"):
        return ActionOutcome(exception_id, "not-retriable", f"already {row['status']}")
    inbox_id = row["inbox_id"]
    if inbox_id is not None:
        if not row["blocking"]:
            return ActionOutcome(
                exception_id,
                "not-retriable",
                "advisory: the delivery was applied; nothing to retry",
            )
        uow.inbox.requeue(int(inbox_id))
        uow.exceptions.set_status(exception_id, "retrying", now, actor, "requeued for processing")
        return ActionOutcome(exception_id, "requeued", f"delivery {inbox_id} requeued")
    payload, headers = row["payload"], row["headers"]
    source = sources.get(str(row["source"]))
    if payload is None or headers is None or source is None:
        return ActionOutcome(exception_id, "not-retriable", "no stored delivery to retry")
    if not source.verify(headers, payload):
        uow.exceptions.set_status(
            exception_id,
            "open",
            now,
            actor,
            "signature still does not verify with the configured secrets",
        )
        return ActionOutcome(exception_id, "still-rejected", "signature still fails")
    receipt = admit(uow, source, headers, payload, now, str(row["correlation_id"] or ""))
    uow.exceptions.set_status(
        exception_id,
        "resolved",
        now,
        actor,
        f"signature verifies now; admitted as {receipt.status}",
    )
    return ActionOutcome(exception_id, "admitted", f"delivery admitted ({receipt.status})")


def ignore(
    uow: UnitOfWork, exception_id: int, reason: str, now: datetime, actor: str = "cli"
) -> ActionOutcome:
    """Close an exception without applying its delivery; the reason goes on the audit trail."""
    if not reason.strip():
        return ActionOutcome(exception_id, "not-ignored", "a reason is required")
    row: Mapping[str, Any] | None = uow.exceptions.get(exception_id)
    if row is None:
        return ActionOutcome(exception_id, "not-found", "no such exception")
    if row["status"] in ("resolved", "ignored"):
        return ActionOutcome(exception_id, "not-ignored", f"already {row['status']}")
    uow.exceptions.set_status(exception_id, "ignored", now, actor, reason.strip())
    return ActionOutcome(exception_id, "ignored", reason.strip())
