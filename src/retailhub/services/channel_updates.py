"""Sending what the hub owes channels: an owner's value pushed back over a non-owner's edit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class OwedUpdate:
    id: int
    system: str
    kind: str
    target: str
    sku: str
    payload: dict[str, Any]


class UpdateStore(Protocol):
    def pending(self, limit: int) -> list[OwedUpdate]: ...

    def mark(self, update_id: int, sent: bool, answer: str, at: datetime) -> None: ...


class ChannelUpdater(Protocol):
    def send(self, kind: str, target: str, payload: dict[str, Any]) -> tuple[bool, str]: ...


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # no updater configured for the system: left pending


def send_pending(
    store: UpdateStore, updaters: Mapping[str, ChannelUpdater], now: datetime, limit: int = 500
) -> SendResult:
    """Send each pending update through its system's updater; the caller commits."""
    result = SendResult()
    for update in store.pending(limit):
        updater = updaters.get(update.system)
        if updater is None:
            result.skipped += 1
            continue
        sent, answer = updater.send(update.kind, update.target, update.payload)
        store.mark(update.id, sent, answer, now)
        if sent:
            result.sent += 1
        else:
            result.failed += 1
    return result
