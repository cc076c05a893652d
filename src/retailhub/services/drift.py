"""Drift: does each channel show the stock level we hold for it?

Channels report their own levels (Shopify ``inventory_levels/update``, kept in
``channel_stock_reports``). A periodic check compares every reported level with the level the
hub computes for that channel location (its share of the channel's ATP); a difference is queued
as a ``stock_drift`` exception for eCommerce and the SKU is returned so its level is pushed
again. A level that agrees again resolves its exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from retailhub.domain import availability
from retailhub.domain.inventory import Position
from retailhub.domain.problems import Problem, ProblemType
from retailhub.services.ports import UnitOfWork
from retailhub.services.rules import HubRules


@dataclass(frozen=True, slots=True)
class ChannelLevel:
    system: str
    item_id: str
    location_id: str
    sku: str
    location: str  # our location code
    available: int
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class Drift:
    level: ChannelLevel
    ours: int

    @property
    def units(self) -> int:
        return self.level.available - self.ours

    @property
    def subject(self) -> str:
        return f"drift:{self.level.system}:{self.level.sku}:{self.level.location}"


class LevelSource(Protocol):
    def reported_levels(self, system: str | None) -> list[ChannelLevel]: ...

    def positions(self, sku: str) -> list[Position]: ...


@dataclass
class DriftReport:
    checked: int
    drifts: list[Drift]
    resolved: int = 0

    @property
    def skus(self) -> list[str]:
        return sorted({d.level.sku for d in self.drifts})


def find_drift(
    source: LevelSource, rules: HubRules, system: str | None = None
) -> tuple[int, list[Drift]]:
    levels = source.reported_levels(system)
    drifts = []
    for level in levels:
        rule = rules.availability.get(rules.price_channel(level.system))
        if rule is None or level.location not in rule.locations:
            continue
        held = source.positions(level.sku)
        ours = availability.atp_by_location(held, rule, rules.safety).get(level.location, 0)
        if ours != level.available:
            drifts.append(Drift(level, ours))
    return len(levels), drifts


def check_drift(
    uow: UnitOfWork,
    source: LevelSource,
    rules: HubRules,
    now: datetime,
    system: str | None = None,
) -> DriftReport:
    """Queue every drift (refreshing an open one) and resolve those that agree again."""
    checked, drifts = find_drift(source, rules, system)
    for d in drifts:
        uow.exceptions.raise_problem(
            Problem(
                ProblemType.STOCK_DRIFT,
                f"{d.level.system} shows {d.level.available} of {d.level.sku} at "
                f"{d.level.location} (reported {d.level.reported_at:%Y-%m-%d %H:%M}); we hold "
                f"{d.ours} for it: {d.units:+d}",
                blocking=False,
                subject=d.subject,
            ),
            now,
            d.level.system,
            None,
            None,
        )
    drifting = {d.subject for d in drifts}
    agreeing = [
        f"drift:{lv.system}:{lv.sku}:{lv.location}"
        for lv in source.reported_levels(system)
        if f"drift:{lv.system}:{lv.sku}:{lv.location}" not in drifting
    ]
    resolved = uow.exceptions.resolve_subjects(
        (ProblemType.STOCK_DRIFT.value,), agreeing, now, "the channel agrees again"
    )
    return DriftReport(checked, drifts, resolved)


def drift_units(drifts: Sequence[Drift]) -> int:
    return sum(abs(d.units) for d in drifts)
