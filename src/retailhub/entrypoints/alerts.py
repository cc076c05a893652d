"""SLA alert notifications: tell the owner team when one of its exceptions breaches its target.

Why: the seed's lesson is that integrations fail silently and finance finds out at close. An
exception past its ``sla_due_at`` is POSTed, as JSON, to the webhook URL its owner team set in
``[alerts.webhooks]`` (``Settings.alert_webhooks``). Each run makes one attempt per due exception,
with a short timeout, and records it in ``sla_alerts``; an exception is announced once, and a
failed POST (unreachable, or not 2xx) is tried again on the next run. A team with no webhook
configured is skipped without a record, so adding its URL later still announces the backlog.

No database transaction is held open across a POST: due exceptions are read, then each attempt
is recorded in its own short transaction as soon as it is answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx
from structlog.contextvars import bound_contextvars

from retailhub.adapters.storage import alerts_repo
from retailhub.observability import get_logger

if TYPE_CHECKING:
    from retailhub.bootstrap import Hub

TIMEOUT_SECONDS = 5.0  # a slow receiver must not stall the worker loop that calls us
ANSWER_LIMIT = 500  # characters of the receiver's answer kept on the record

log = get_logger("retailhub.alerts")


@dataclass(frozen=True, slots=True)
class AlertResult:
    exception_id: int
    team: str
    outcome: Literal["sent", "failed", "no-webhook"]
    url: str | None = None
    status: int | None = None  # the receiver's HTTP status; None when it never answered
    answer: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "exception_id": self.exception_id,
            "team": self.team,
            "outcome": self.outcome,
            "url": redact(self.url),
            "status": self.status,
            "answer": self.answer,
        }


def redact(url: str | None) -> str | None:
    """A webhook URL for display: chat webhook URLs carry their secret in the path."""
    if url is None:
        return None
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}/…"


def alert_body(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The JSON POSTed. ``text`` makes it readable as-is by chat incoming webhooks (Slack's
    and Mattermost's take a ``text`` field); the rest is for machines."""
    due: datetime = row["sla_due_at"]
    overdue = max(0, int((now - due).total_seconds()))
    text = (
        f"retailhub: exception #{row['id']} ({row['type']}, owner {row['owner']}, priority "
        f"{row['priority']}) breached its SLA {overdue // 60} min ago: {row['reason']}"
    )
    return {
        "kind": "sla_breach",
        "text": text,
        "overdue_seconds": overdue,
        "exception": {
            "id": row["id"],
            "type": row["type"],
            "status": row["status"],
            "owner": row["owner"],
            "priority": row["priority"],
            "reason": row["reason"],
            "subject": row["subject"],
            "amount": row["amount"],  # minor units of the company currency
            "source": row["source"],
            "store": row["store"],
            "assignee": row["assignee"],
            "created_at": row["created_at"].isoformat(),
            "sla_due_at": due.isoformat(),
            "correlation_id": row["correlation_id"],
        },
    }


def send_due_alerts(
    hub: Hub, client: httpx.Client | None = None, timeout: float = TIMEOUT_SECONDS
) -> list[AlertResult]:
    """POST one alert per breached, unannounced exception; return what was attempted."""
    now = hub.clock()
    webhooks = hub.settings.alert_webhooks
    with hub.engine.connect() as conn:
        due = alerts_repo.due_for_alert(conn, now)
    if not due:
        return []
    own_client = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    results: list[AlertResult] = []
    try:
        for row in due:
            team = str(row["owner"])
            url = webhooks.get(team)
            if url is None:
                results.append(AlertResult(int(row["id"]), team, "no-webhook"))
                continue
            results.append(_send_one(hub, http, row, team, url, now, timeout))
    finally:
        if own_client:
            http.close()
    return results


def _send_one(
    hub: Hub,
    http: httpx.Client,
    row: Mapping[str, Any],
    team: str,
    url: str,
    now: datetime,
    timeout: float,
) -> AlertResult:
    exception_id = int(row["id"])
    status: int | None = None
    try:
        response = http.post(url, json=alert_body(row, now), timeout=timeout)
        status = response.status_code
        answer = response.text[:ANSWER_LIMIT]
    except httpx.HTTPError as exc:  # unreachable, timed out, refused: try again next run
        answer = f"{type(exc).__name__}: {exc}"[:ANSWER_LIMIT]
    delivered = status is not None and 200 <= status < 300
    with hub.engine.begin() as conn:
        alerts_repo.record_attempt(conn, exception_id, team, url, hub.clock(), status, answer)
    with bound_contextvars(correlation_id=row["correlation_id"]):
        (log.info if delivered else log.warning)(
            "sla_alert.sent" if delivered else "sla_alert.failed",
            exception_id=exception_id,
            team=team,
            status=status,
            answer=None if delivered else answer,
        )
    return AlertResult(exception_id, team, "sent" if delivered else "failed", url, status, answer)
