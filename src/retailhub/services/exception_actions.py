"""Actions on the exception queue, each audited with who did it, when, and what came of it.

* retry: put the delivery back in line (or re-verify a refused one);
* replay: after a fix (the missing SKU now exists), requeue every live exception on a subject,
  so the deliveries that waited on it apply in inbox order on the next processing run;
* map alias: teach the hub a channel's identity for an item, then replay;
* write off: post a settlement or drawer difference to an adjustments account, then resolve;
* ignore: close with a reason; assign: name who is working on it.

The caller commits and then runs the processor (the CLI does both).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from retailhub.domain.accounts import account_component
from retailhub.domain.ledger import JournalEntry, JournalLine, SourceRef
from retailhub.domain.problems import ProblemType
from retailhub.services.intake import admit
from retailhub.services.ports import UnitOfWork, WebhookSource

_CLOSED = ("resolved", "ignored")
WRITE_OFF_TYPES = frozenset(
    {
        ProblemType.SETTLEMENT_VARIANCE.value,
        ProblemType.UNKNOWN_IN_SETTLEMENT.value,
        ProblemType.MISSING_FROM_SETTLEMENT.value,
        ProblemType.CASH_OVER_SHORT.value,
    }
)


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


def assign(
    uow: UnitOfWork, exception_id: int, assignee: str, now: datetime, actor: str = "cli"
) -> ActionOutcome:
    """Name who is working on an exception (an empty name unassigns it)."""
    row = uow.exceptions.get(exception_id)
    if row is None:
        return ActionOutcome(exception_id, "not-found", "no such exception")
    name = assignee.strip() or None
    uow.exceptions.assign(exception_id, name, now, actor)
    return ActionOutcome(exception_id, "assigned", name or "unassigned")


def replay(
    uow: UnitOfWork,
    now: datetime,
    subject: str | None = None,
    exception_id: int | None = None,
    actor: str = "cli",
) -> list[ActionOutcome]:
    """Requeue every live, blocking exception on ``subject`` (or on the subject of
    ``exception_id``; that one alone when it has none). The processor then applies the
    deliveries in inbox order, which is the order they arrived in."""
    if (subject is None) == (exception_id is None):
        raise ValueError("replay needs a subject or an exception id, not both")
    if exception_id is not None:
        row = uow.exceptions.get(exception_id)
        if row is None:
            return [ActionOutcome(exception_id, "not-found", "no such exception")]
        if row["subject"] is None:
            return [retry(uow, exception_id, {}, now, actor)]
        subject = str(row["subject"])
    assert subject is not None
    rows = uow.exceptions.live_on_subject(subject)
    if not rows:
        return [ActionOutcome(exception_id or 0, "not-found", f"no open exception on {subject}")]
    outcomes = []
    for r in rows:
        eid = int(str(r["id"]))
        if r["inbox_id"] is None or not r["blocking"]:
            outcomes.append(ActionOutcome(eid, "not-retriable", "no blocked delivery behind it"))
            continue
        uow.inbox.requeue(int(str(r["inbox_id"])))
        uow.exceptions.set_status(eid, "retrying", now, actor, f"replayed after a fix to {subject}")
        outcomes.append(ActionOutcome(eid, "requeued", f"delivery {r['inbox_id']} requeued"))
    return outcomes


def map_alias(
    uow: UnitOfWork, exception_id: int, sku: str, now: datetime, actor: str = "cli"
) -> list[ActionOutcome]:
    """Map the channel item behind an ``unknown_sku`` exception to the existing item ``sku``,
    then replay every exception on the same subject.

    The channel's identity comes from the stored delivery: for Shopify, the ``variant_id`` of
    the order line whose ``sku`` is the unknown one (Shopify Admin API, Order resource,
    ``line_items[].sku`` / ``line_items[].variant_id``). Orders that carry that variant then
    resolve through ``item_identities`` (``handlers/orders.resolve_sku``).
    """
    row = uow.exceptions.get(exception_id)
    if row is None:
        return [ActionOutcome(exception_id, "not-found", "no such exception")]
    if row["type"] != ProblemType.UNKNOWN_SKU.value:
        return [ActionOutcome(exception_id, "not-mappable", f"a {row['type']} exception")]
    if row["status"] in _CLOSED:
        return [ActionOutcome(exception_id, "not-mappable", f"already {row['status']}")]
    if uow.catalog.item(sku) is None:
        return [ActionOutcome(exception_id, "not-mappable", f"no item {sku!r} in the item master")]
    subject = str(row["subject"] or "")
    channel_sku = subject.removeprefix("sku:")
    delivery = uow.inbox.get(int(str(row["inbox_id"]))) if row["inbox_id"] is not None else None
    variant = _variant_of(delivery.body, channel_sku) if delivery is not None else None
    if delivery is None or variant is None:
        return [
            ActionOutcome(
                exception_id,
                "not-mappable",
                f"the stored delivery has no line with SKU {channel_sku!r} and a variant id",
            )
        ]
    uow.exceptions.map_identity(delivery.source, "variant", variant, sku)
    uow.exceptions.note(
        exception_id, now, actor, "alias-mapped", f"{delivery.source} variant {variant} -> {sku}"
    )
    mapped = ActionOutcome(exception_id, "mapped", f"{delivery.source} variant {variant} -> {sku}")
    return [mapped, *replay(uow, now, subject=subject, actor=actor)]


def _variant_of(body: bytes, channel_sku: str) -> str | None:
    """The ``variant_id`` of the first line selling ``channel_sku`` in a Shopify order body."""
    try:
        order = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    lines = order.get("line_items") if isinstance(order, dict) else None
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, dict):
            continue
        if (line.get("sku") or None) == (channel_sku or None) and line.get("variant_id"):
            return str(line["variant_id"])
    return None


# Reconciliation keeps the variance's size in ``amount`` (always positive) and its sign only in
# the reason text, "(variance -1.50)" (domain/reconciliation.py ``_problem``).
_VARIANCE = re.compile(r"\(variance (-?)[0-9]")


def write_off(
    uow: UnitOfWork,
    exception_id: int,
    reason: str,
    now: datetime,
    currency: str,
    actor: str = "cli",
) -> ActionOutcome:
    """Post the difference behind a settlement or drawer exception to
    ``Expenses:Settlement-Adjustments:<Gateway>`` against ``Assets:Clearing:<Gateway>``, then
    resolve it with ``reason``. Idempotent: the entry's key is ``writeoff:<exception id>``.

    Direction: money the hub expected but never received (a missing payment, a short variance,
    a drawer short) is an expense: Dr adjustments, Cr clearing. Money received that the hub
    never expected (an unknown settlement line, an over variance, a drawer over) is the
    reverse. A drawer's "gateway" is ``Cash``.
    """
    if not reason.strip():
        return ActionOutcome(exception_id, "not-written-off", "a reason is required")
    row = uow.exceptions.get(exception_id)
    if row is None:
        return ActionOutcome(exception_id, "not-found", "no such exception")
    kind = str(row["type"])
    if kind not in WRITE_OFF_TYPES:
        return ActionOutcome(
            exception_id, "not-written-off", f"a {kind} exception has no amount to write off"
        )
    if row["status"] in _CLOSED:
        return ActionOutcome(exception_id, "not-written-off", f"already {row['status']}")
    amount = int(str(row["amount"]))
    if amount <= 0:
        return ActionOutcome(exception_id, "not-written-off", "no amount recorded")
    text = str(row["reason"])
    if kind == ProblemType.CASH_OVER_SHORT.value:
        gateway, shortfall = "cash", " short" in text.rsplit(":", 1)[-1]
    else:
        gateway = text.split(" ", 1)[0]  # reconciliation reasons start with the gateway
        if kind == ProblemType.SETTLEMENT_VARIANCE.value:
            match = _VARIANCE.search(text)
            shortfall = bool(match and match.group(1))
        else:
            shortfall = kind == ProblemType.MISSING_FROM_SETTLEMENT.value
    part = account_component(gateway)
    expense, clearing = f"Expenses:Settlement-Adjustments:{part}", f"Assets:Clearing:{part}"
    signed = amount if shortfall else -amount
    memo = f"write-off of exception #{exception_id}: {reason.strip()}"
    entry = JournalEntry(
        now.date(),
        memo,
        SourceRef("writeoff", str(exception_id)),
        (JournalLine(expense, signed, currency, memo), JournalLine(clearing, -signed, currency)),
        rule="adjustment",
    )
    posted = uow.ledger.post(entry, None, now)
    direction = f"Dr {expense} Cr {clearing}" if shortfall else f"Dr {clearing} Cr {expense}"
    result = f"{'posted' if posted else 'already posted'} {entry.key}: {direction} {amount}"
    uow.exceptions.note(exception_id, now, actor, "write-off", result)
    uow.exceptions.set_status(exception_id, "resolved", now, actor, reason.strip())
    return ActionOutcome(exception_id, "written-off", result)
