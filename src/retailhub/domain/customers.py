"""One canonical customer with an identity per channel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """How a channel knows the customer: (``system``, ``external_id``), e.g. ("shopify", "2071…")."""

    system: str
    external_id: str


@dataclass(frozen=True, slots=True)
class Customer:
    identity: ChannelIdentity
    email: str | None = None
    name: str | None = None
