"""The operating rules the service layer applies, as plain data built from ``retailhub.toml``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal

from retailhub.domain.availability import AtpRule, SafetyStock
from retailhub.domain.payments import gateway_key
from retailhub.domain.posting import PostingPolicy


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

    def price_channel(self, system: str) -> str:
        return self.price_channels.get(system, system)

    def gateway(self, name: str | None) -> str:
        key = gateway_key(name)
        return self.gateway_aliases.get(key, key)

    def owner(self, entity: str) -> str:
        return self.ownership.get(entity, "retailhub")

    def default_location(self, channel: str) -> str | None:
        return self.default_locations.get(channel)
