"""The operating rules the service layer applies, as plain data built from ``retailhub.toml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Protocol

from retailhub.domain.availability import AtpRule, SafetyStock
from retailhub.domain.fx import FxRates
from retailhub.domain.payments import gateway_key
from retailhub.domain.posting import PostingPolicy


class FxSource(Protocol):
    """Where exchange rates come from (the rates file the user supplies), read afresh when it
    changes; ``RatesUnavailable`` when it cannot be read."""

    def rates(self, functional: str) -> FxRates: ...


@dataclass(frozen=True)
class FxPolicy:
    """The functional currency the books are kept in, and the rates into it."""

    functional: str
    source: FxSource | None = None  # None: no rates to read; every foreign fact waits
    rates_file: str | None = None  # its name, for messages

    def rates(self) -> FxRates:
        if self.source is None:
            where = self.rates_file or "the rates file (none configured: [fx] rates_file)"
            return FxRates.of(self.functional, (), where)
        return self.source.rates(self.functional)


@dataclass(frozen=True)
class HubRules:
    posting: PostingPolicy = field(default_factory=PostingPolicy)
    # Which location a channel's orders reserve and sell from when the order names none.
    default_locations: Mapping[str, str] = field(default_factory=dict)
    availability: Mapping[str, AtpRule] = field(default_factory=dict)
    # Units held back from every channel per SKU and location (absolute or days of cover).
    safety: SafetyStock | None = None
    sales_window_days: int = 28  # trailing window of sales for days-of-cover safety stock
    # System of record per entity ("inventory" -> "retailhub" or "shopify", …).
    ownership: Mapping[str, str] = field(default_factory=dict)
    # How long a delivery may wait for what it depends on before it becomes an exception.
    dependency_timeout_seconds: int = 3600
    # Journal entries are dated by the business day where the company trades.
    timezone: tzinfo = UTC
    # Channels posted as one summary entry per store and business day instead of per event.
    summary_channels: frozenset[str] = frozenset()
    # Expected share of gift-card value never redeemed (proportional breakage); 0 = none.
    gift_card_breakage_rate: Decimal = Decimal(0)
    # Channel gateway names → settlement gateway names ("amazon_marketplace" → "amazon").
    gateway_aliases: Mapping[str, str] = field(default_factory=dict)
    # Entities whose owner's value is pushed back over a non-owner's edit ("prices").
    push_back: frozenset[str] = frozenset()
    # The channel whose prices each system shows ("shopify" → "web").
    price_channels: Mapping[str, str] = field(default_factory=lambda: {"shopify": "web"})
    # Multi-currency: facts in another currency are restated in the functional one. None keeps
    # every entry in the currency of its fact (no restating), as before [fx] existed.
    fx: FxPolicy | None = None

    def price_channel(self, system: str) -> str:
        return self.price_channels.get(system, system)

    def gateway(self, name: str | None) -> str:
        key = gateway_key(name)
        return self.gateway_aliases.get(key, key)

    def owner(self, entity: str) -> str:
        return self.ownership.get(entity, "retailhub")

    def default_location(self, channel: str) -> str | None:
        return self.default_locations.get(channel)
