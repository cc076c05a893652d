"""Selling prices per channel and location over time, where a SKU may be sold, and who may change it.

A price list is a set of dated entries. Each entry prices one SKU on one channel, either for
every location of the channel or for one location (a store that sells dearer than the web).
Reading a price for a day takes the most specific scope that has a price that day (the
location's own entry before the channel-wide one) and, within it, the entry with the latest
``effective_from``. Dates are whole business days: a change effective 1 April applies from
midnight at the start of 1 April in the company's time zone; ``effective_to`` is the last day
the price applies (inclusive); no ``effective_to`` means "until a later entry takes over".

So a list price runs open-ended, the next list price supersedes it from its first day, and a
promotion is a bounded entry laid over the list price: when it ends the list price is back.
Anything else that puts two entries of one scope on the same day is refused, because the
rule above would silently cut one of them short (two entries starting the same day, a bounded
entry overlapped by one starting later).

Channel eligibility: a SKU is sold on every channel unless the master data says otherwise,
either "only on these channels" or "not on these channels".

Ownership: prices have one system of record (``[ownership] prices`` in retailhub.toml,
DESIGN.md "Rules that make it trustworthy"). A change reported by any other system is not
applied; it becomes an ownership exception and, when configured, the owner's price is pushed
back to the system that changed it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum

from retailhub.domain.money import Money
from retailhub.domain.problems import Problem, ProblemType

Scope = tuple[str, str, str | None]  # (sku, channel, location or None for channel-wide)


class PriceListError(ValueError):
    """Entries that cannot form a price list; ``overlaps`` says which pairs clash."""

    def __init__(self, message: str, overlaps: Sequence[Overlap] = ()) -> None:
        super().__init__(message)
        self.overlaps = tuple(overlaps)


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One SKU's price on one channel (and optionally one location) for a run of days."""

    sku: str
    channel: str
    price: Money
    effective_from: date
    effective_to: date | None = None  # the last day it applies; None = until superseded
    location: str | None = None  # None = every location of the channel

    def __post_init__(self) -> None:
        if self.price.amount < 0:
            raise PriceListError(f"{self.sku}: a price cannot be negative ({self.price})")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise PriceListError(
                f"{self.sku}: effective_to {self.effective_to} is before "
                f"effective_from {self.effective_from}"
            )

    @property
    def scope(self) -> Scope:
        return (self.sku, self.channel, self.location)

    @property
    def open_ended(self) -> bool:
        return self.effective_to is None

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def describe(self) -> str:
        where = f"{self.channel}/{self.location}" if self.location else self.channel
        until = self.effective_to.isoformat() if self.effective_to else "open-ended"
        return f"{self.sku} on {where} {self.effective_from.isoformat()}..{until}"


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two entries that claim the same scope and day: indexes into the sequence checked,
    ``first`` < ``second`` (so a file reader can report the clash on the later row)."""

    first: int
    second: int
    day: date  # the first day both claim


def find_overlaps(entries: Sequence[PriceEntry]) -> list[Overlap]:
    """Every pair of entries that the latest-``effective_from`` rule cannot separate.

    Two entries of one scope may share days only when the earlier-starting one is open-ended
    (the later one supersedes it). Returned as values so a file import can report them all.
    """
    by_scope: dict[Scope, list[int]] = {}
    for i, entry in enumerate(entries):
        by_scope.setdefault(entry.scope, []).append(i)
    found: list[Overlap] = []
    for indexes in by_scope.values():
        indexes.sort(key=lambda i: (entries[i].effective_from, i))
        for pos, i in enumerate(indexes):
            earlier = entries[i]
            for j in indexes[pos + 1 :]:
                later = entries[j]
                if earlier.open_ended:
                    # superseded by anything starting later; only a same-day start clashes
                    if later.effective_from != earlier.effective_from:
                        break
                elif (
                    earlier.effective_to is not None and later.effective_from > earlier.effective_to
                ):
                    break  # sorted by start: nothing further can reach back into ``earlier``
                found.append(Overlap(min(i, j), max(i, j), later.effective_from))
    found.sort(key=lambda o: (o.second, o.first))
    return found


class PriceList:
    """Validated price entries, answering "what does this SKU cost here on that day?"."""

    __slots__ = ("_by_scope", "_starts")

    def __init__(self, entries: Iterable[PriceEntry] = ()) -> None:
        listed = list(entries)
        overlaps = find_overlaps(listed)
        if overlaps:
            lines = [
                f"{listed[o.second].describe()} overlaps {listed[o.first].describe()} "
                f"on {o.day.isoformat()}"
                for o in overlaps
            ]
            raise PriceListError("; ".join(lines), overlaps)
        by_scope: dict[Scope, list[PriceEntry]] = {}
        for entry in listed:
            by_scope.setdefault(entry.scope, []).append(entry)
        for scoped in by_scope.values():
            scoped.sort(key=lambda e: e.effective_from)
        self._by_scope = by_scope
        self._starts = {s: [e.effective_from for e in scoped] for s, scoped in by_scope.items()}

    def __len__(self) -> int:
        return sum(len(scoped) for scoped in self._by_scope.values())

    def entries(self) -> list[PriceEntry]:
        return [e for scoped in self._by_scope.values() for e in scoped]

    def entry_for(
        self, sku: str, channel: str, location: str | None, on: date
    ) -> PriceEntry | None:
        """The entry that prices ``sku`` on ``channel`` at ``location`` on day ``on``."""
        scopes: list[Scope] = [(sku, channel, location)] if location else []
        scopes.append((sku, channel, None))
        for scope in scopes:
            found = self._effective(scope, on)
            if found is not None:
                return found
        return None

    def price_for(self, sku: str, channel: str, location: str | None, on: date) -> Money | None:
        """The price on day ``on``; None when the SKU has no price there that day."""
        entry = self.entry_for(sku, channel, location, on)
        return entry.price if entry is not None else None

    def price_at(
        self, sku: str, channel: str, location: str | None, at: datetime, tz: tzinfo
    ) -> Money | None:
        """The price at a moment: its business day is taken in the company's time zone ``tz``.

        A sale at 23:30 in Chicago on 31 March is a 31 March sale even though it is 1 April in
        UTC, so it gets March's price; a change effective 1 April starts at local midnight.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"price_at needs an aware datetime, got naive {at.isoformat()}")
        return self.price_for(sku, channel, location, at.astimezone(tz).date())

    def _effective(self, scope: Scope, day: date) -> PriceEntry | None:
        scoped = self._by_scope.get(scope)
        if not scoped:
            return None
        # Latest effective_from on or before ``day`` that still applies: walking back passes
        # over promotions that have ended to the open-ended list price beneath them.
        for k in range(bisect.bisect_right(self._starts[scope], day) - 1, -1, -1):
            if scoped[k].applies_on(day):
                return scoped[k]
        return None


@dataclass(frozen=True, slots=True)
class ChannelEligibility:
    """Where each SKU may be sold. A SKU listed in neither map is eligible on every channel.

    ``only``: the SKU is sold on these channels and no other (a web exclusive).
    ``excluded``: the SKU is sold everywhere except these channels (not on a marketplace).
    """

    only: Mapping[str, frozenset[str]] = field(default_factory=dict)
    excluded: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for sku, channels in self.only.items():
            if not channels:
                raise ValueError(f"{sku}: 'only' lists no channel; exclude channels instead")
            both = channels & self.excluded.get(sku, frozenset())
            if both:
                raise ValueError(
                    f"{sku}: {', '.join(sorted(both))} is both an only-channel and excluded"
                )

    def eligible(self, sku: str, channel: str) -> bool:
        only = self.only.get(sku)
        if only is not None and channel not in only:
            return False
        return channel not in self.excluded.get(sku, frozenset())


# -- ownership --------------------------------------------------------------------------------


class Action(StrEnum):
    APPLY = "apply"  # the owner changed its price: take it
    IGNORE_EQUAL = "ignore_equal"  # nothing changed (products/update also fires on stock edits)
    REJECT = "reject"  # a non-owner changed it: do not apply; queue an ownership exception


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str
    push_back: Money | None = None  # the owner's price to send back to the reporting system

    @property
    def applies(self) -> bool:
        return self.action is Action.APPLY

    def problem(self, subject: str) -> Problem | None:
        """The ownership exception to queue for a rejected change (advisory: the delivery is
        processed, only the price is not taken), or None when nothing needs a person."""
        if self.action is not Action.REJECT:
            return None
        return Problem(
            ProblemType.OWNERSHIP_VIOLATION, self.reason, blocking=False, subject=subject
        )


def price_change_decision(
    owner: str,
    reporting_system: str,
    ours: Money | None,
    reported: Money,
    *,
    push_back: bool = False,
) -> Decision:
    """What to do with a price a system reports, given who owns prices.

    ``ours`` is the owner's price as the hub holds it (None if it holds none). The table:

    =====================  ==================  ==========================================
    reported vs ours       reporting system    decision
    =====================  ==================  ==========================================
    equal                  anyone              IGNORE_EQUAL
    different / no price   the owner           APPLY
    different              not the owner       REJECT; push ``ours`` back if configured
    no price of ours       not the owner       REJECT; nothing to push back
    =====================  ==================  ==========================================
    """
    if ours is not None and ours == reported:
        return Decision(Action.IGNORE_EQUAL, f"{reporting_system} reports the price we hold")
    if reporting_system == owner:
        before = str(ours) if ours is not None else "no price"
        return Decision(Action.APPLY, f"{owner} owns prices and changed {before} to {reported}")
    if ours is None:
        return Decision(
            Action.REJECT,
            f"{reporting_system} set a price of {reported}; {owner} owns prices and has none "
            "for it, so nothing is applied or pushed back",
        )
    verdict = f"pushing {ours} back" if push_back else "not applied"
    return Decision(
        Action.REJECT,
        f"{reporting_system} changed the price to {reported}; {owner} owns prices at {ours}: "
        f"{verdict}",
        push_back=ours if push_back else None,
    )
