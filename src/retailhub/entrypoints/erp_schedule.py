"""Scheduled posting to accounting targets: ``[erp.<target>] push_every_minutes = N``.

``serve`` and ``work`` call ``run_due`` on every turn of the worker loop; a target whose
interval has passed gets every journal entry it has not answered for, through the same
exactly-once service as ``retailhub erp push``. Targets without the setting are pushed only
on demand. A target that fails to build or to answer is logged and tried again next interval:
it must not stop the worker (its refusals and outages are exceptions in the queue already).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from structlog import get_logger

from retailhub.adapters.connectors.erp import build_target
from retailhub.adapters.storage.erp_repo import SqlTokenStore
from retailhub.bootstrap import Hub
from retailhub.services.erp_posting import AccountingTarget, PushSummary, push_entries

log = get_logger("retailhub.erp")


class ErpSchedule:
    def __init__(
        self,
        hub: Hub,
        monotonic: Callable[[], float] = time.monotonic,
        build: Callable[..., AccountingTarget] = build_target,
    ) -> None:
        self.hub = hub
        self.monotonic = monotonic
        self.build = build
        self.every: dict[str, float] = {}
        for name, options in hub.settings.erp.items():
            minutes = float(options.get("push_every_minutes", 0) or 0)
            if minutes > 0:
                self.every[name] = minutes * 60
        self._next: dict[str, float] = {}
        self._targets: dict[str, AccountingTarget] = {}

    def __bool__(self) -> bool:
        return bool(self.every)

    def run_due(self) -> dict[str, PushSummary]:
        """Push every target whose interval has passed; returns what each push did."""
        done: dict[str, PushSummary] = {}
        now = self.monotonic()
        for name, every in self.every.items():
            if now < self._next.get(name, 0.0):
                continue
            self._next[name] = now + every
            try:
                done[name] = push_entries(
                    self.hub.uow, self._target(name), self.hub.settings.currency, self.hub.clock
                )
            except Exception:
                log.exception("erp_push.run_failed", target=name)
        return done

    def _target(self, name: str) -> AccountingTarget:
        if name not in self._targets:  # built once: its token cache and rate limiter persist
            options: dict[str, Any] = self.hub.settings.erp[name]
            tokens = SqlTokenStore(self.hub.engine, name)
            self._targets[name] = self.build(name, options, tokens, self.hub.clock)
        return self._targets[name]
